package peer

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
)

// Engine is what the partition routes need from the engine: the methods a
// partition's leader answers for other brokers. They never forward again: a
// broker that does not lead the partition returns engine.ErrNotLeader.
type Engine interface {
	// AppendLeader appends records as the partition's leader and returns
	// the first offset. The records' bytes alias the request body, which
	// is never reused: the engine may keep them.
	AppendLeader(ctx context.Context, topic string, partition int32, records []storage.Record, acks engine.Acks, timeout time.Duration) (int64, error)
	// FetchLeader reads the leader's replica, long-polling up to req.Wait.
	// The records must have consecutive offsets; they are encoded before
	// the handler returns.
	FetchLeader(ctx context.Context, topic string, partition int32, req engine.FetchRequest) (engine.ReadResult, error)
	// WaitOffsets returns the leader's offsets once its high watermark is
	// above knownHW, or when wait has passed.
	WaitOffsets(ctx context.Context, topic string, partition int32, knownHW int64, wait time.Duration) (engine.Offsets, error)
	// OffsetForTimestampLeader finds the first offset at or after ts.
	OffsetForTimestampLeader(topic string, partition int32, ts int64) (engine.OffsetsForTimestamp, error)
	// WaitVersion returns once the engine has applied metadata version v,
	// or with an error when ctx ends first.
	WaitVersion(ctx context.Context, v uint64) error
	// ServeReplicaFetch answers one round of a follower's fetch stream.
	ServeReplicaFetch(ctx context.Context, req engine.ReplicaFetchRequest) engine.ReplicaFetchResponse
}

// Admin is what the admin routes need: the controller's own topic changes,
// ISR changes and controlled shutdowns.
// It never forwards: a broker that is not the controller returns an error
// wrapping engine.ErrLeaderNotAvailable. Each method returns the metadata
// version the change was committed at.
type Admin interface {
	// CreateTopicLocal creates a topic as another broker asked (spec as
	// that broker resolved it; Internal is set only by brokers).
	CreateTopicLocal(ctx context.Context, spec engine.TopicSpec) (uint64, error)
	// UpdateTopicLocal changes a topic's partition count or config.
	UpdateTopicLocal(ctx context.Context, name string, u engine.TopicUpdate) (uint64, error)
	// DeleteTopicLocal deletes a topic.
	DeleteTopicLocal(ctx context.Context, name string) (uint64, error)
	// AlterISRLocal commits a partition leader's ISR change (alter.go);
	// a stale leader, leader epoch or partition epoch wraps
	// engine.ErrStaleEpoch.
	AlterISRLocal(ctx context.Context, req engine.AlterISR) (uint64, error)
	// ControlledShutdownLocal moves broker's leaderships away before it
	// stops and returns once that is committed.
	ControlledShutdownLocal(ctx context.Context, broker int32) (uint64, error)
}

// ServerConfig configures a Server.
type ServerConfig struct {
	// Secret is the cluster secret every peer request must carry; empty
	// accepts any request.
	Secret string
	// Logger receives failures of peer requests; nil discards them.
	Logger *slog.Logger
}

// Server answers other brokers' calls (doc.go).
type Server struct {
	cfg     ServerConfig
	eng     Engine
	admin   Admin
	secret  []byte
	streams streamConns // open replica streams (stream.go)
}

// NewServer returns a Server over eng and admin. A nil admin answers every
// topic change with leader_not_available.
func NewServer(cfg ServerConfig, eng Engine, admin Admin) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, eng: eng, admin: admin, secret: []byte(cfg.Secret)}
}

// maxWait bounds wait_ms and timeout_ms (the engine caps waits further).
const maxWait = 24 * time.Hour

// Mount adds the peer routes under PathPrefix to e, and a pre-routing check
// of every request that says it was forwarded: one with a wrong secret is
// refused with 401, a good one is marked for Forwarded. Call it once.
func (s *Server) Mount(e *echo.Echo) {
	e.Pre(s.markForwarded)
	g := e.Group(strings.TrimSuffix(PathPrefix, "/"), s.requireSecret, s.awaitVersion)
	g.POST("/partitions/append", s.appendRecords)
	g.GET("/partitions/fetch", s.fetch)
	g.GET("/partitions/offsets", s.offsets)
	g.GET("/partitions/offsets-for-timestamp", s.offsetForTimestamp)
	g.POST("/replica/fetch", s.replicaFetch)
	g.GET("/replica/stream", s.replicaStream)
	g.POST("/admin/topics", s.createTopic)
	g.PATCH("/admin/topics", s.updateTopic)
	g.DELETE("/admin/topics", s.deleteTopic)
	g.POST("/admin/alter-isr", s.alterISR)
	g.POST("/admin/controlled-shutdown", s.controlledShutdown)
}

// forwardedKey marks the context of a request another broker forwarded.
type forwardedKey struct{}

// Forwarded reports whether r came from another broker: it carries
// X-Fjord-Forwarded-By and the right secret. Only requests served by an
// echo instance the Server was mounted on are ever marked.
func Forwarded(r *http.Request) bool {
	v, _ := r.Context().Value(forwardedKey{}).(bool)
	return v
}

func (s *Server) secretOK(r *http.Request) bool {
	if len(s.secret) == 0 {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(r.Header.Get(HeaderSecret)), s.secret) == 1
}

var errBadSecret = problem.New(http.StatusUnauthorized, problem.Unauthorized, "missing or wrong cluster secret")

func (s *Server) markForwarded(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Header.Get(HeaderForwardedBy) == "" {
			return next(c)
		}
		if !s.secretOK(r) {
			return s.fail(c, errBadSecret)
		}
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), forwardedKey{}, true)))
		return next(c)
	}
}

// versionWait bounds how long a call waits for the metadata version its
// caller had; past it the call is served with what this broker has.
const versionWait = 2 * time.Second

// awaitVersion applies HeaderMetadataVersion (see there).
func (s *Server) awaitVersion(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if v, err := strconv.ParseUint(c.Request().Header.Get(HeaderMetadataVersion), 10, 64); err == nil && v > 0 {
			ctx, cancel := context.WithTimeout(c.Request().Context(), versionWait)
			_ = s.eng.WaitVersion(ctx, v) // past the bound: serve with what is here
			cancel()
		}
		return next(c)
	}
}

func (s *Server) requireSecret(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !s.secretOK(c.Request()) {
			return s.fail(c, errBadSecret)
		}
		return next(c)
	}
}

// fail renders err as problem+json.
func (s *Server) fail(c echo.Context, err error) error {
	d := problem.From(err)
	if d.Status >= 500 {
		s.cfg.Logger.Error("peer request failed", "method", c.Request().Method, "path", c.Request().URL.Path,
			"from", c.Request().Header.Get(HeaderForwardedBy), "err", err)
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	return c.JSON(d.Status, d)
}

func (s *Server) appendRecords(c echo.Context) error {
	p := params{c: c}
	topic, partition := p.partition()
	acks := p.int("acks", -1, 1)
	timeout := p.duration("timeout_ms", 0)
	if p.err != nil {
		return s.fail(c, p.err)
	}
	if mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType)); mt != MediaBatch {
		return s.fail(c, problem.New(http.StatusUnsupportedMediaType, problem.UnsupportedMediaType, "an append body is "+MediaBatch))
	}
	body, err := readBody(c, MaxAppendBytes)
	if err != nil {
		return s.fail(c, err)
	}
	recs, err := decodeAppendBody(body)
	if err != nil {
		return s.fail(c, err)
	}
	base, err := s.eng.AppendLeader(c.Request().Context(), topic, partition, recs, engine.Acks(acks), timeout)
	if err != nil {
		return s.fail(c, err)
	}
	return c.JSON(http.StatusOK, appendAnswer{BaseOffset: base})
}

func (s *Server) fetch(c echo.Context) error {
	p := params{c: c}
	topic, partition := p.partition()
	req := engine.FetchRequest{
		Offset:     p.int("offset", engine.OffsetEarliest, 1<<62),
		MaxRecords: int(p.int("max_records", 0, 1<<31-1)),
		MaxBytes:   int(min(p.int("max_bytes", 0, 1<<31-1), MaxFetchBytes)),
		Wait:       p.duration("wait_ms", 0),
	}
	if p.err != nil {
		return s.fail(c, p.err)
	}
	res, err := s.eng.FetchLeader(c.Request().Context(), topic, partition, req)
	if err != nil {
		return s.fail(c, err)
	}
	b, err := encodeFetchAnswer(res)
	if err != nil {
		return s.fail(c, err)
	}
	return answerBlob(c, MediaFetch, b)
}

func (s *Server) offsets(c echo.Context) error {
	p := params{c: c}
	topic, partition := p.partition()
	knownHW := p.int("known_hw", -1, 1<<62)
	wait := p.duration("wait_ms", 0)
	if p.err != nil {
		return s.fail(c, p.err)
	}
	off, err := s.eng.WaitOffsets(c.Request().Context(), topic, partition, knownHW, wait)
	if err != nil {
		return s.fail(c, err)
	}
	return c.JSON(http.StatusOK, toOffsetsJSON(off))
}

func (s *Server) offsetForTimestamp(c echo.Context) error {
	p := params{c: c}
	topic, partition := p.partition()
	ts := p.int("timestamp", -1<<62, 1<<62)
	if p.err != nil {
		return s.fail(c, p.err)
	}
	res, err := s.eng.OffsetForTimestampLeader(topic, partition, ts)
	if err != nil {
		return s.fail(c, err)
	}
	return c.JSON(http.StatusOK, offsetForTimestampJSON{offsetsJSON: toOffsetsJSON(res.Offsets), Offset: res.Offset, Found: res.Found})
}

func (s *Server) createTopic(c echo.Context) error {
	var spec topicSpecJSON
	if err := readJSON(c, &spec); err != nil {
		return s.fail(c, err)
	}
	return s.adminChange(c, func(ctx context.Context, a Admin) (uint64, error) {
		return a.CreateTopicLocal(ctx, spec.engine())
	})
}

func (s *Server) updateTopic(c echo.Context) error {
	p := params{c: c}
	name := p.topic()
	if p.err != nil {
		return s.fail(c, p.err)
	}
	var u topicUpdateJSON
	if err := readJSON(c, &u); err != nil {
		return s.fail(c, err)
	}
	return s.adminChange(c, func(ctx context.Context, a Admin) (uint64, error) {
		return a.UpdateTopicLocal(ctx, name, engine.TopicUpdate{Partitions: u.Partitions, Config: u.Config, ReplicationFactor: u.ReplicationFactor})
	})
}

func (s *Server) deleteTopic(c echo.Context) error {
	p := params{c: c}
	name := p.topic()
	if p.err != nil {
		return s.fail(c, p.err)
	}
	return s.adminChange(c, func(ctx context.Context, a Admin) (uint64, error) {
		return a.DeleteTopicLocal(ctx, name)
	})
}

func (s *Server) adminChange(c echo.Context, change func(context.Context, Admin) (uint64, error)) error {
	if s.admin == nil {
		return s.fail(c, fmt.Errorf("%w: this broker takes no topic changes", engine.ErrLeaderNotAvailable))
	}
	v, err := change(c.Request().Context(), s.admin)
	if err != nil {
		return s.fail(c, err)
	}
	return c.JSON(http.StatusOK, adminAnswer{MetadataVersion: v})
}

// answerBlob answers 200 with b, stating its length: without it net/http
// sends an answer over 2 KiB chunked, and the reader (readAnswer) cannot
// size one buffer for it but grows one, copying as it goes.
func answerBlob(c echo.Context, media string, b []byte) error {
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(b)))
	return c.Blob(http.StatusOK, media, b)
}

// readBody reads the request body, at most limit bytes (413 above).
func readBody(c echo.Context, limit int64) ([]byte, error) {
	r := c.Request()
	body := http.MaxBytesReader(c.Response(), r.Body, limit)
	defer body.Close()
	if n := r.ContentLength; n > 0 && n <= limit {
		b := make([]byte, n)
		if _, err := io.ReadFull(body, b); err != nil {
			return nil, fmt.Errorf("%w: reading the body: %v", engine.ErrInvalidRequest, err)
		}
		return b, nil
	}
	b, err := io.ReadAll(body)
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: reading the body: %v", engine.ErrInvalidRequest, err)
	}
	return b, nil
}

// readJSON decodes an admin body into v.
func readJSON(c echo.Context, v any) error {
	b, err := readBody(c, MaxAdminBytes)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: body: %v", engine.ErrInvalidRequest, err)
	}
	return nil
}
