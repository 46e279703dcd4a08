package peer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxIdlePerBroker is how many idle keep-alive connections are kept to
// one broker: enough for the long polls and appends in flight at once.
const maxIdlePerBroker = 64

// newTransport returns the transport of calls between brokers. It speaks
// HTTP/1.1 over a pool of keep-alive connections per broker, so that a long
// poll holds one connection and never waits behind another call, and it has
// no response timeout: every call is bounded by its own context instead.
func newTransport(tlsCfg *tls.Config) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:               nil, // brokers reach each other directly
		DialContext:         d.DialContext,
		MaxIdleConns:        0, // no limit over all brokers
		MaxIdleConnsPerHost: maxIdlePerBroker,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	if tlsCfg != nil {
		t.TLSClientConfig = tlsCfg.Clone()
	}
	return t
}

func scheme(tlsCfg *tls.Config) string {
	if tlsCfg != nil {
		return "https"
	}
	return "http"
}

// shared holds the transports of Proxy and Gather, one per TLS
// configuration, so that their connections are pooled across calls.
var shared struct {
	mu sync.Mutex // guards byTLS
	// byTLS maps a TLS configuration (nil: plain HTTP) to its transport.
	byTLS map[*tls.Config]*http.Transport
}

func sharedTransport(tlsCfg *tls.Config) *http.Transport {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.byTLS == nil {
		shared.byTLS = map[*tls.Config]*http.Transport{}
	}
	t := shared.byTLS[tlsCfg]
	if t == nil {
		t = newTransport(tlsCfg)
		shared.byTLS[tlsCfg] = t
	}
	return t
}

// setPeerHeaders marks r as sent by broker self with the cluster secret.
func setPeerHeaders(h http.Header, self int32, secret string) {
	h.Set(HeaderForwardedBy, strconv.Itoa(int(self)))
	h.Del(HeaderSecret)
	if secret != "" {
		h.Set(HeaderSecret, secret)
	}
}

// readAnswer reads a whole answer body of at most limit bytes. A body
// whose length the answer states is read into one buffer of that size:
// replica fetch answers run to megabytes, and growing a buffer for them
// copied and cleared each one several times over.
func readAnswer(resp *http.Response, limit int64) ([]byte, error) {
	if n := resp.ContentLength; n > limit {
		return nil, fmt.Errorf("%w: answer of %d bytes is over %d", ErrBadAnswer, n, limit)
	} else if n >= 0 {
		b := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: answer is over %d bytes", ErrBadAnswer, limit)
	}
	return b, nil
}

// get sends a GET of path to addr as broker self; it returns the body of a
// 2xx answer, or the error of any other.
func get(ctx context.Context, hc *http.Client, base, path string, self int32, secret string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("peer: GET %s: %w", path, err)
	}
	setPeerHeaders(req.Header, self, secret)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, transportError(ctx, base, err)
	}
	defer resp.Body.Close()
	b, err := readAnswer(resp, limit)
	switch {
	case errors.Is(err, ErrBadAnswer):
		return nil, err
	case err != nil:
		return nil, transportError(ctx, base, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, answerError(base, resp.StatusCode, b, -1)
	}
	return b, nil
}
