// Package raftnet carries the metadata log's Raft traffic over the broker's
// own HTTP listener, so a broker needs no extra port: a peer sends
//
//	GET /internal/v1/raft HTTP/1.1
//	Connection: Upgrade
//	Upgrade: fjord-raft
//	X-Fjord-Cluster-Secret: <secret>
//
// and, after "101 Switching Protocols", the connection is one stream of
// Raft's NetworkTransport. Layer is both the http.Handler of that path and
// the raft.StreamLayer that dials and accepts such connections.
package raftnet

import (
	"bufio"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Path is where the broker mounts the Layer.
const Path = "/internal/v1/raft"

// upgradeProto names the protocol in the Upgrade header.
const upgradeProto = "fjord-raft"

// ErrClosed is returned by Accept after Close.
var ErrClosed = errors.New("raftnet: closed")

// redialInterval is how often Dial tries again a peer that refuses the
// connection.
const redialInterval = 50 * time.Millisecond

// Config configures a Layer.
type Config struct {
	// Advertise is this broker's advertised HTTP host:port, its Raft address.
	Advertise string
	// Secret, when set, must accompany every upgrade.
	Secret string
	// TLS, when set, dials peers over TLS.
	TLS    *tls.Config
	Logger *slog.Logger
}

// Layer is a raft.StreamLayer over HTTP upgrades.
type Layer struct {
	cfg    Config
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	// dials is cancelled by StopDialing and Close: it ends every Dial.
	dials     context.Context
	stopDials context.CancelFunc
	// refusals counts the dials peers refused.
	refusals atomic.Int64
}

var _ raft.StreamLayer = (*Layer)(nil)

// New returns a Layer.
func New(cfg Config) *Layer {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Layer{cfg: cfg, conns: make(chan net.Conn), closed: make(chan struct{})}
	l.dials, l.stopDials = context.WithCancel(context.Background())
	return l
}

// ServeHTTP upgrades a peer's request and hands the connection to Accept.
func (l *Layer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), upgradeProto) {
		http.Error(w, "raftnet: expected Upgrade: "+upgradeProto, http.StatusBadRequest)
		return
	}
	if l.cfg.Secret != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Fjord-Cluster-Secret")), []byte(l.cfg.Secret)) != 1 {
		http.Error(w, "raftnet: wrong cluster secret", http.StatusUnauthorized)
		return
	}
	select {
	case <-l.closed:
		http.Error(w, "raftnet: closed", http.StatusServiceUnavailable)
		return
	default:
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "raftnet: connection cannot be upgraded", http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	// The server's read and body deadlines no longer apply: Raft streams
	// stay open and set their own.
	_ = conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+upgradeProto+"\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	c := &bufConn{Conn: conn, r: buf.Reader}
	select {
	case l.conns <- c:
	case <-l.closed:
		conn.Close()
	}
}

// Accept waits for the next upgraded connection.
func (l *Layer) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, ErrClosed
	}
}

// Close makes Accept fail, refuses further upgrades and ends every Dial.
func (l *Layer) Close() error {
	l.once.Do(func() { close(l.closed) })
	l.stopDials()
	return nil
}

// StopDialing ends every Dial in progress and makes later ones fail, while
// Accept goes on: a Raft node's shutdown waits for its calls to peers, so
// it comes first.
func (l *Layer) StopDialing() { l.stopDials() }

// Addr is the advertised address.
func (l *Layer) Addr() net.Addr { return addr(l.cfg.Advertise) }

// Dial opens a Raft stream to a peer's HTTP listener. A peer that refuses
// the connection (its broker is down, its host up) is tried again every
// redialInterval until timeout, the way a dial to a dead host waits for
// its timeout. Raft backs off exponentially on each failed call, up to
// about 10 s between tries, so a refusal returned at once would make a
// restarted broker wait that long for the metadata log; this way a broker
// that comes back is reached within redialInterval.
func (l *Layer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(l.dials, timeout)
	defer cancel()
	for {
		conn, err := l.dialOnce(ctx, address)
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
			return conn, err
		}
		l.refusals.Add(1)
		t := time.NewTimer(redialInterval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, err
		}
	}
}

// dialOnce connects to address and upgrades the connection.
func (l *Layer) dialOnce(ctx context.Context, address raft.ServerAddress) (net.Conn, error) {
	d := &net.Dialer{}
	var conn net.Conn
	var err error
	if l.cfg.TLS != nil {
		conn, err = (&tls.Dialer{NetDialer: d, Config: l.cfg.TLS}).DialContext(ctx, "tcp", string(address))
	} else {
		conn, err = d.DialContext(ctx, "tcp", string(address))
	}
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	req := "GET " + Path + " HTTP/1.1\r\nHost: " + string(address) + "\r\nConnection: Upgrade\r\nUpgrade: " + upgradeProto + "\r\n"
	if l.cfg.Secret != "" {
		req += "X-Fjord-Cluster-Secret: " + l.cfg.Secret + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("raftnet: upgrade at %s: %w", address, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		resp.Body.Close()
		conn.Close()
		return nil, fmt.Errorf("raftnet: upgrade at %s: %s", address, resp.Status)
	}
	_ = conn.SetDeadline(time.Time{})
	return &bufConn{Conn: conn, r: br}, nil
}

// bufConn reads what a bufio.Reader already buffered before the connection.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

type addr string

func (a addr) Network() string { return "tcp" }
func (a addr) String() string  { return string(a) }

// NewTransport is Raft's NetworkTransport over l.
func NewTransport(l *Layer, logger *slog.Logger) *raft.NetworkTransport {
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: l, MaxPool: 3, Timeout: 10 * time.Second, Logger: HCLogger(logger, "raft-net"),
	})
}

// HCLogger adapts slog for hashicorp libraries: their warnings and errors
// keep their level, everything else is logged at debug.
func HCLogger(log *slog.Logger, name string) hclog.Logger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.Info, Output: slogWriter{log}, DisableTime: true})
}

type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	switch {
	case strings.HasPrefix(msg, "[ERROR]"):
		w.log.Error(msg)
	case strings.HasPrefix(msg, "[WARN]"):
		w.log.Warn(msg)
	case strings.HasPrefix(msg, "[INFO]"):
		w.log.Info(msg)
	default:
		w.log.Debug(msg)
	}
	return len(p), nil
}
