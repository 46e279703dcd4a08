package peer

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
)

// PathPrefix is where the peer API is mounted.
const PathPrefix = "/internal/v1/"

// Paths of the peer API, under PathPrefix.
const (
	pathAppend             = PathPrefix + "partitions/append"
	pathFetch              = PathPrefix + "partitions/fetch"
	pathOffsets            = PathPrefix + "partitions/offsets"
	pathOffsetForTimestamp = PathPrefix + "partitions/offsets-for-timestamp"
	pathTopics             = PathPrefix + "admin/topics"
)

// Resolver finds other brokers.
type Resolver interface {
	// BrokerAddr is the advertised HTTP host:port of broker id, from the
	// cluster metadata; false when the broker is not known.
	BrokerAddr(id int32) (string, bool)
}

// ClientConfig configures a Client.
type ClientConfig struct {
	// Self is this broker's id, sent as X-Fjord-Forwarded-By.
	Self int32
	// Secret is the cluster secret; empty sends none.
	Secret string
	// TLS is the client configuration of calls to other brokers; nil calls
	// them over plain HTTP.
	TLS *tls.Config
	// Resolver finds the brokers' addresses.
	Resolver Resolver
	// Logger receives faults between brokers (a refused secret, a
	// malformed answer); nil discards them.
	Logger *slog.Logger
	// Version is the metadata version this broker has applied, sent with
	// every call (HeaderMetadataVersion); nil sends none.
	Version func() uint64
}

// Client calls other brokers: it is the engine's Remote, and forwards topic
// changes to the controller. It keeps a pool of keep-alive connections per
// broker and is safe for concurrent use. Every call is bounded by its
// context only: long polls take as long as they asked for.
type Client struct {
	cfg       ClientConfig
	self      string
	transport *http.Transport
	http      *http.Client
	streams   streams // idle replica streams (stream.go)
}

var _ engine.Remote = (*Client)(nil)

// NewClient returns a Client.
func NewClient(cfg ClientConfig) *Client {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t := newTransport(cfg.TLS)
	return &Client{cfg: cfg, self: strconv.Itoa(int(cfg.Self)), transport: t, http: &http.Client{Transport: t}}
}

// Close closes the idle connections and replica streams. Calls in flight
// finish.
func (c *Client) Close() {
	c.transport.CloseIdleConnections()
	c.streams.close()
}

// Append appends records at the partition's leader and returns the first
// offset. The records travel as one storage batch, byte-exact.
func (c *Client) Append(ctx context.Context, leader int32, topic string, partition int32, records []storage.Record, acks engine.Acks, timeout time.Duration) (int64, error) {
	if len(records) == 0 {
		return 0, fmt.Errorf("%w: no records", engine.ErrInvalidRequest)
	}
	q := partitionQuery(topic, partition)
	q.Set("acks", strconv.Itoa(int(acks)))
	q.Set("timeout_ms", strconv.FormatInt(max(0, timeout.Milliseconds()), 10))
	body := storage.AppendBatch(nil, 0, 0, records)
	var ans appendAnswer
	if err := c.callJSON(ctx, leader, http.MethodPost, pathAppend, q, MediaBatch, body, &ans); err != nil {
		return 0, fmt.Errorf("append %s/%d at broker %d: %w", topic, partition, leader, err)
	}
	return ans.BaseOffset, nil
}

// Fetch reads the partition at its leader, long-polling there up to
// req.Wait. The records own their bytes.
func (c *Client) Fetch(ctx context.Context, leader int32, topic string, partition int32, req engine.FetchRequest) (engine.ReadResult, error) {
	q := partitionQuery(topic, partition)
	q.Set("offset", strconv.FormatInt(req.Offset, 10))
	q.Set("max_records", strconv.Itoa(max(0, req.MaxRecords)))
	q.Set("max_bytes", strconv.Itoa(min(max(0, req.MaxBytes), MaxFetchBytes)))
	q.Set("wait_ms", strconv.FormatInt(max(0, req.Wait.Milliseconds()), 10))
	resp, name, err := c.call(ctx, leader, http.MethodGet, pathFetch, q, "", nil, req.Offset)
	if err != nil {
		return engine.ReadResult{NextOffset: req.Offset}, err
	}
	defer resp.Body.Close()
	res, err := readFetchAnswer(resp)
	if err != nil {
		if !errors.Is(err, ErrBadAnswer) {
			err = transportError(ctx, name, err)
		} else {
			c.cfg.Logger.Warn("malformed fetch answer", "broker", name, "err", err)
		}
		return engine.ReadResult{NextOffset: req.Offset}, fmt.Errorf("fetch %s/%d at broker %d: %w", topic, partition, leader, err)
	}
	return res, nil
}

// readFetchAnswer reads a fetch answer: the header, then exactly the batch
// it announces, then the end of the body.
func readFetchAnswer(resp *http.Response) (engine.ReadResult, error) {
	if ct := resp.Header.Get("Content-Type"); ct != MediaFetch {
		return engine.ReadResult{}, fmt.Errorf("%w: fetch answer of type %q", ErrBadAnswer, ct)
	}
	var hb [fetchHeaderSize]byte
	if _, err := io.ReadFull(resp.Body, hb[:]); err != nil {
		return engine.ReadResult{}, shortAnswer(err)
	}
	h, err := parseFetchHeader(hb[:])
	if err != nil {
		return engine.ReadResult{}, err
	}
	batch := make([]byte, h.BatchLen)
	if _, err := io.ReadFull(resp.Body, batch); err != nil {
		return engine.ReadResult{}, shortAnswer(err)
	}
	if n, _ := resp.Body.Read(hb[:1]); n > 0 {
		return engine.ReadResult{}, fmt.Errorf("%w: bytes after the fetch batch", ErrBadAnswer)
	}
	return decodeFetchBatch(h, batch)
}

// shortAnswer is the error of a body that ended early: the connection
// broke, or the answer was cut short.
func shortAnswer(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: fetch answer cut short", ErrBadAnswer)
	}
	return err
}

// Offsets returns the leader's offsets once its high watermark is above
// knownHW, or when wait has passed.
func (c *Client) Offsets(ctx context.Context, leader int32, topic string, partition int32, knownHW int64, wait time.Duration) (engine.Offsets, error) {
	q := partitionQuery(topic, partition)
	q.Set("known_hw", strconv.FormatInt(knownHW, 10))
	q.Set("wait_ms", strconv.FormatInt(max(0, wait.Milliseconds()), 10))
	var ans offsetsJSON
	if err := c.callJSON(ctx, leader, http.MethodGet, pathOffsets, q, "", nil, &ans); err != nil {
		return engine.Offsets{}, fmt.Errorf("offsets of %s/%d at broker %d: %w", topic, partition, leader, err)
	}
	return ans.engine(), nil
}

// OffsetForTimestamp asks the leader for the first offset at or after ts.
func (c *Client) OffsetForTimestamp(ctx context.Context, leader int32, topic string, partition int32, ts int64) (engine.OffsetsForTimestamp, error) {
	q := partitionQuery(topic, partition)
	q.Set("timestamp", strconv.FormatInt(ts, 10))
	var ans offsetForTimestampJSON
	if err := c.callJSON(ctx, leader, http.MethodGet, pathOffsetForTimestamp, q, "", nil, &ans); err != nil {
		return engine.OffsetsForTimestamp{}, fmt.Errorf("offset for timestamp of %s/%d at broker %d: %w", topic, partition, leader, err)
	}
	return engine.OffsetsForTimestamp{Offsets: ans.engine(), Offset: ans.Offset, Found: ans.Found}, nil
}

// CreateTopic asks the controller to create a topic and returns the
// metadata version it was committed at.
func (c *Client) CreateTopic(ctx context.Context, controller int32, spec engine.TopicSpec) (uint64, error) {
	body, err := json.Marshal(toTopicSpecJSON(spec))
	if err != nil {
		return 0, fmt.Errorf("peer: encode topic spec: %w", err)
	}
	return c.admin(ctx, controller, http.MethodPost, nil, body, "create topic "+spec.Name)
}

// UpdateTopic asks the controller to change a topic and returns the
// metadata version it was committed at.
func (c *Client) UpdateTopic(ctx context.Context, controller int32, name string, u engine.TopicUpdate) (uint64, error) {
	body, err := json.Marshal(topicUpdateJSON{Partitions: u.Partitions, Config: u.Config, ReplicationFactor: u.ReplicationFactor})
	if err != nil {
		return 0, fmt.Errorf("peer: encode topic update: %w", err)
	}
	return c.admin(ctx, controller, http.MethodPatch, url.Values{"topic": {name}}, body, "update topic "+name)
}

// DeleteTopic asks the controller to delete a topic and returns the
// metadata version it was committed at.
func (c *Client) DeleteTopic(ctx context.Context, controller int32, name string) (uint64, error) {
	return c.admin(ctx, controller, http.MethodDelete, url.Values{"topic": {name}}, nil, "delete topic "+name)
}

func (c *Client) admin(ctx context.Context, controller int32, method string, q url.Values, body []byte, what string) (uint64, error) {
	ctype := ""
	if body != nil {
		ctype = "application/json"
	}
	var ans adminAnswer
	if err := c.callJSON(ctx, controller, method, pathTopics, q, ctype, body, &ans); err != nil {
		return 0, fmt.Errorf("%s at controller %d: %w", what, controller, err)
	}
	return ans.MetadataVersion, nil
}

func partitionQuery(topic string, partition int32) url.Values {
	return url.Values{"topic": {topic}, "partition": {strconv.Itoa(int(partition))}}
}

// callJSON is call with a JSON answer decoded into out.
func (c *Client) callJSON(ctx context.Context, id int32, method, path string, q url.Values, ctype string, body []byte, out any) error {
	resp, name, err := c.call(ctx, id, method, path, q, ctype, body, -1)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := readAnswer(resp, maxJSONAnswer)
	if err == nil {
		if jerr := json.Unmarshal(b, out); jerr != nil {
			err = fmt.Errorf("%w: %v", ErrBadAnswer, jerr)
		}
	}
	switch {
	case errors.Is(err, ErrBadAnswer):
		c.cfg.Logger.Warn("malformed answer", "broker", name, "path", path, "err", err)
		return err
	case err != nil:
		return transportError(ctx, name, err)
	}
	return nil
}

// call sends one request to broker id and returns its 2xx answer, whose
// body the caller closes, and the broker's name for errors. Any other
// answer is returned as the error it carries; offset is the offset the
// call asked for (offset_out_of_range).
func (c *Client) call(ctx context.Context, id int32, method, path string, q url.Values, ctype string, body []byte, offset int64) (*http.Response, string, error) {
	req, name, err := c.newRequest(ctx, id, method, path, q, ctype, body)
	if err != nil {
		return nil, name, err
	}
	return c.do(ctx, req, name, offset)
}

// addr is broker id's address, "" when it is not known.
func (c *Client) addr(id int32) string {
	if c.cfg.Resolver == nil {
		return ""
	}
	addr, _ := c.cfg.Resolver.BrokerAddr(id)
	return addr
}

// version is the metadata version to send, 0 for none.
func (c *Client) version() uint64 {
	if c.cfg.Version == nil {
		return 0
	}
	return c.cfg.Version()
}

// newRequest builds a request to broker id with the peer headers, and
// returns it with the broker's name for errors.
func (c *Client) newRequest(ctx context.Context, id int32, method, path string, q url.Values, ctype string, body []byte) (*http.Request, string, error) {
	name := strconv.Itoa(int(id))
	addr := c.addr(id)
	if addr == "" {
		return nil, name, fmt.Errorf("%w: broker %d is not known", engine.ErrLeaderNotAvailable, id)
	}
	name += " at " + addr
	u := scheme(c.cfg.TLS) + "://" + addr + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, name, fmt.Errorf("%w: broker %d: %v", engine.ErrLeaderNotAvailable, id, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	setPeerHeaders(req.Header, c.cfg.Self, c.cfg.Secret)
	if v := c.version(); v > 0 {
		req.Header.Set(HeaderMetadataVersion, strconv.FormatUint(v, 10))
	}
	return req, name, nil
}

// do sends req and returns its 2xx answer, or the error of any other, as
// call does.
func (c *Client) do(ctx context.Context, req *http.Request, name string, offset int64) (*http.Response, string, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, name, transportError(ctx, name, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, name, nil
	}
	return nil, name, c.failure(ctx, resp, name, offset)
}

// failure reads and closes a failed answer and returns the error it carries.
func (c *Client) failure(ctx context.Context, resp *http.Response, name string, offset int64) error {
	defer resp.Body.Close()
	b, err := readAnswer(resp, maxJSONAnswer)
	if err != nil && !errors.Is(err, ErrBadAnswer) {
		return transportError(ctx, name, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		c.cfg.Logger.Warn("broker refused the cluster secret", "broker", name)
	}
	return answerError(name, resp.StatusCode, b, offset)
}
