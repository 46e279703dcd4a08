package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// client sends the benchmark's HTTP requests over kept-alive connections.
type client struct {
	base    string // broker URL without a trailing slash
	hc      *http.Client
	timeout time.Duration
}

// newClient returns a client that keeps at least conns idle connections per
// host, so every worker keeps its own connection between requests.
func newClient(base string, conns int, timeout time.Duration) (*client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bench: --url %q must be http(s)://host:port", base)
	}
	conns = max(conns, 1)
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     64 << 10,
		ReadBufferSize:      64 << 10,
	}
	return &client{base: strings.TrimRight(base, "/"), hc: &http.Client{Transport: tr}, timeout: timeout}, nil
}

// setConns raises the idle connections kept per host to 2*conns; call it
// before the load starts.
func (c *client) setConns(conns int) {
	tr := c.hc.Transport.(*http.Transport)
	tr.MaxIdleConns = max(tr.MaxIdleConns, 2*conns)
	tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, 2*conns)
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// do sends one request with a prebuilt body (nil for none) and reads the
// whole answer into buf, which it resets. In-flight requests are not
// cancelled when the run's context ends; they finish within c.timeout.
func (c *client) do(ctx context.Context, method, url, contentType string, body []byte, buf *bytes.Buffer) (int, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, err
}

// failureKey names a failed answer "<status> <code>" from its problem+json
// body (or "<status>" when the body has no code).
func failureKey(status int, body []byte) (key, msg string) {
	var p struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &p) == nil && p.Code != "" {
		return fmt.Sprintf("%d %s", status, p.Code), p.Detail
	}
	return fmt.Sprintf("%d", status), string(body)
}

// transportKey names a request that got no answer.
func transportKey(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "transport: timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "transport: connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "transport: connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "transport: connection closed"
	}
	return "transport: other"
}

// partitionInfo is one partition of a topic description.
type partitionInfo struct {
	Partition      int32 `json:"partition"`
	LogStartOffset int64 `json:"log_start_offset"`
	HighWatermark  int64 `json:"high_watermark"`
}

// errNoTopic is returned by describe for a 404.
var errNoTopic = errors.New("bench: topic does not exist")

// describe returns the topic's partitions.
func (c *client) describe(ctx context.Context, topic string) ([]partitionInfo, error) {
	var buf bytes.Buffer
	status, err := c.do(ctx, http.MethodGet, c.base+"/topics/"+url.PathEscape(topic), "", nil, &buf)
	if err != nil {
		return nil, fmt.Errorf("bench: describe %s: %w", topic, err)
	}
	if status == http.StatusNotFound {
		return nil, fmt.Errorf("%w: %s", errNoTopic, topic)
	}
	if status != http.StatusOK {
		k, m := failureKey(status, buf.Bytes())
		return nil, fmt.Errorf("bench: describe %s: %s %s", topic, k, m)
	}
	var d struct {
		Partitions []partitionInfo `json:"partitions"`
	}
	if err := json.Unmarshal(buf.Bytes(), &d); err != nil {
		return nil, fmt.Errorf("bench: describe %s: %w", topic, err)
	}
	return d.Partitions, nil
}

// ensureTopic creates topic with partitions partitions unless it exists,
// and returns its partitions.
func (c *client) ensureTopic(ctx context.Context, topic string, partitions int) ([]partitionInfo, error) {
	parts, err := c.describe(ctx, topic)
	if !errors.Is(err, errNoTopic) {
		return parts, err
	}
	body, _ := json.Marshal(map[string]any{"name": topic, "partitions": partitions})
	var buf bytes.Buffer
	status, err := c.do(ctx, http.MethodPost, c.base+"/topics", "application/json", body, &buf)
	if err != nil {
		return nil, fmt.Errorf("bench: create %s: %w", topic, err)
	}
	if status != http.StatusCreated && status != http.StatusConflict {
		k, m := failureKey(status, buf.Bytes())
		return nil, fmt.Errorf("bench: create %s: %s %s", topic, k, m)
	}
	return c.describe(ctx, topic)
}

// topicNames expands --topic and --topics into the topics of a run: the
// name itself for one topic, name-0 … name-(n-1) for several.
func topicNames(name string, n int) []string {
	if n <= 1 {
		return []string{name}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", name, i)
	}
	return out
}
