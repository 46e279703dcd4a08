package peer

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httputil"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/engine"
)

// maxGatherAnswer bounds one broker's answer to Gather.
const maxGatherAnswer = 16 << 20

// Proxy passes the current request through to the broker at addr (its
// advertised host:port) and its answer back, as broker self with the
// cluster secret. Method, path, query, body and headers go through as they
// are (hop-by-hop headers excepted, the Host header kept), and the
// downstream's status, headers and body come back unchanged, streamed, so
// long polls, NDJSON streams and WebSocket upgrades work. A request that
// was itself forwarded is never proxied again: Proxy returns an error
// wrapping engine.ErrLeaderNotAvailable for the caller to render. An
// unreachable broker is answered with a 503 leader_not_available. Call it
// before anything has read the request body or written the answer.
func Proxy(c echo.Context, addr string, self int32, secret string, tlsCfg *tls.Config) error {
	if Forwarded(c.Request()) {
		return fmt.Errorf("%w: a request forwarded by another broker is not forwarded again", engine.ErrLeaderNotAvailable)
	}
	out := c.Response().Header()
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = scheme(tlsCfg)
			pr.Out.URL.Host = addr
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			setPeerHeaders(pr.Out.Header, self, secret)
		},
		Transport:     sharedTransport(tlsCfg),
		FlushInterval: -1, // every write at once: long polls and streams
		ModifyResponse: func(resp *http.Response) error {
			// The downstream's headers replace what this broker's
			// middleware set (X-Fjord-Broker, CORS), not add to it.
			for k := range resp.Header {
				out.Del(k)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client left; nobody reads an answer
			}
			writeProblem(w, fmt.Errorf("%w: broker at %s unreachable: %v", engine.ErrLeaderNotAvailable, addr, err))
		},
	}
	rp.ServeHTTP(c.Response(), c.Request())
	return nil
}

// writeProblem renders err as problem+json on w.
func writeProblem(w http.ResponseWriter, err error) {
	d := problem.From(err)
	b, _ := json.Marshal(d)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(d.Status)
	_, _ = w.Write(b)
}

// Gather sends GET path (with its query) to every broker in addrs at once,
// as broker self with the cluster secret, and returns each one's body or
// error at its index. Answers other than 2xx are the errors they carry,
// as from Client. It returns once every call has ended.
func Gather(ctx context.Context, addrs []string, path string, self int32, secret string, tlsCfg *tls.Config) ([][]byte, []error) {
	hc := &http.Client{Transport: sharedTransport(tlsCfg)}
	bodies := make([][]byte, len(addrs))
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i], errs[i] = get(ctx, hc, scheme(tlsCfg)+"://"+addr, path, self, secret, maxGatherAnswer)
		}()
	}
	wg.Wait()
	return bodies, errs
}
