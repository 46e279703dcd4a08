package limit

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjord-streaming/fjord/api/problem"
)

// LongPolls caps the long polls served at once.
type LongPolls struct {
	slots  chan struct{}
	capped prometheus.Counter
}

// NewLongPolls allows max concurrent long polls (max >= 1). reg, when not
// nil, receives the gauge fjord_http_long_polls and the counter
// fjord_http_long_polls_capped_total.
func NewLongPolls(max int, reg prometheus.Registerer) *LongPolls {
	l := &LongPolls{slots: make(chan struct{}, max), capped: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "fjord_http_long_polls_capped_total",
		Help: "Long polls answered at once because --max-long-polls were already waiting.",
	})}
	if reg != nil {
		reg.MustRegister(l.capped, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "fjord_http_long_polls",
			Help: "Long polls waiting now.",
		}, func() float64 { return float64(l.Active()) }))
	}
	return l
}

// Active is the number of long polls holding a slot.
func (l *LongPolls) Active() int { return len(l.slots) }

// isLongPoll reports whether r, matched to route path, may wait for records:
// a GET of …/records that does not ask for timeout_ms=0. Member fetches wait
// by default, so a missing timeout_ms counts as a long poll.
func isLongPoll(r *http.Request, path string) bool {
	if r.Method != http.MethodGet || !strings.HasSuffix(path, "/records") {
		return false
	}
	return r.URL.Query().Get("timeout_ms") != "0"
}

// Middleware holds a slot for every long poll while it runs. Without a free
// slot the request's timeout_ms becomes 0: it is answered at once with what
// there is.
func (l *LongPolls) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if !isLongPoll(r, c.Path()) {
				return next(c)
			}
			select {
			case l.slots <- struct{}{}:
				defer func() { <-l.slots }()
			default:
				l.capped.Inc()
				// Rewrite both the URL (for handlers that read it) and echo's
				// parsed query, which it caches on first use.
				q := r.URL.Query()
				q.Set("timeout_ms", "0")
				u := *r.URL
				u.RawQuery = q.Encode()
				r2 := r.Clone(r.Context())
				r2.URL = &u
				c.SetRequest(r2)
				c.QueryParams().Set("timeout_ms", "0")
			}
			return next(c)
		}
	}
}

// errBodyTimeout is a body read cut off by BodyDeadline.
var errBodyTimeout = problem.New(http.StatusRequestTimeout, problem.RequestTimeout,
	"the request body did not arrive in time (--body-read-timeout)")

// BodyDeadline gives every request body d to arrive whole. d <= 0 returns h.
func BodyDeadline(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			h.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(d)); err != nil {
			h.ServeHTTP(w, r)
			return
		}
		// A shallow copy carries the wrapped body, so the server still
		// recognises its own request body after the handler (a 413 closes
		// the connection instead of draining an oversized body).
		r2 := *r
		r2.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		h.ServeHTTP(w, &r2)
	})
}

// deadlineBody lifts the read deadline once the body has been read, so what
// the handler does afterwards (waiting for acknowledgements) is not cut off.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	once sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		b.once.Do(func() { _ = b.rc.SetReadDeadline(time.Time{}) })
	case errors.Is(err, os.ErrDeadlineExceeded):
		return n, errBodyTimeout
	}
	return n, err
}
