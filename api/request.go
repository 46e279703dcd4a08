package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/engine"
)

// bodyKind is how a request body is to be read.
type bodyKind int

const (
	bodyJSON bodyKind = iota
	bodyNDJSON
)

// mediaType classifies the request's Content-Type. JSON is assumed when
// none is given and for curl's default form type (`curl -d`), so the
// shortest curl line works; anything else is 415 unsupported_media_type.
func mediaType(c echo.Context, ndjsonOK bool) (bodyKind, error) {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if ct == "" {
		return bodyJSON, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, problem.New(http.StatusUnsupportedMediaType, problem.UnsupportedMediaType, fmt.Sprintf("bad Content-Type %q", ct))
	}
	switch {
	case mt == "application/json" || mt == "application/x-www-form-urlencoded" ||
		(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")):
		return bodyJSON, nil
	case ndjsonOK && (mt == "application/x-ndjson" || mt == "application/jsonl" || mt == "application/jsonlines"):
		return bodyNDJSON, nil
	}
	accepted := "application/json"
	if ndjsonOK {
		accepted += " or application/x-ndjson"
	}
	return 0, problem.New(http.StatusUnsupportedMediaType, problem.UnsupportedMediaType,
		fmt.Sprintf("Content-Type %q is not supported; send %s", mt, accepted))
}

// limitBody caps the request body at --max-request-bytes. A body whose
// declared length is already too large is refused before any of it is read.
func (s *Server) limitBody(c echo.Context) (io.Reader, error) {
	r := c.Request()
	if r.ContentLength > s.cfg.MaxRequestBytes {
		return nil, &http.MaxBytesError{Limit: s.cfg.MaxRequestBytes}
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, s.cfg.MaxRequestBytes)
	return r.Body, nil
}

// decodeJSON strictly decodes a small JSON body into v: unknown fields,
// trailing data and wrong types are invalid_request.
func (s *Server) decodeJSON(c echo.Context, v any) error {
	if _, err := mediaType(c, false); err != nil {
		return err
	}
	body, err := s.limitBody(c)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return invalid("request body is empty; a JSON object is expected")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return invalid("malformed JSON body: " + jsonErrorText(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("trailing data after the JSON body")
	}
	return nil
}

func jsonErrorText(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("field %q must be %s, not %s", te.Field, te.Type, te.Value)
		}
		return fmt.Sprintf("expected %s, not %s", te.Type, te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func invalid(msg string) error {
	return problem.New(http.StatusBadRequest, problem.InvalidRequest, msg)
}

// queryInt parses an optional integer query parameter within [lo, hi].
func queryInt(c echo.Context, name string, def, lo, hi int64) (int64, error) {
	s := c.QueryParam(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, invalid(fmt.Sprintf("query parameter %s=%q must be an integer from %d to %d", name, s, lo, hi))
	}
	return v, nil
}

// pathPartition parses the :partition path parameter.
func pathPartition(c echo.Context) (int32, error) {
	s := c.Param("partition")
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil || v < 0 {
		return 0, invalid(fmt.Sprintf("partition %q must be a non-negative integer", s))
	}
	return int32(v), nil
}

// parseOffset reads an offset: a number, "earliest" or "latest".
func parseOffset(s string, def int64) (int64, error) {
	switch s {
	case "":
		return def, nil
	case "earliest":
		return engine.OffsetEarliest, nil
	case "latest":
		return engine.OffsetLatest, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, invalid(fmt.Sprintf("offset %q must be a non-negative integer, \"earliest\" or \"latest\"", s))
	}
	return v, nil
}

// parseAcks reads acks: 0, 1, all (or -1).
func parseAcks(s string) (engine.Acks, error) {
	switch s {
	case "", "all", "-1":
		return engine.AcksAll, nil
	case "1":
		return engine.AcksLeader, nil
	case "0":
		return engine.AcksNone, nil
	}
	return 0, invalid(fmt.Sprintf("acks=%q must be 0, 1 or all", s))
}

// ParseAcks is parseAcks for other packages (the WebSocket produce op).
func ParseAcks(s string) (engine.Acks, error) { return parseAcks(s) }
