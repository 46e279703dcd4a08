package limit

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/fjord-streaming/fjord/api/problem"
)

// ErrRateLimited is answered 429 too_many_requests.
var ErrRateLimited = errors.New("limit: too many requests")

func init() {
	problem.Register(problem.Mapping{Err: ErrRateLimited, Status: http.StatusTooManyRequests, Code: problem.TooManyRequests})
}

// sweepEvery is how often idle buckets are looked for.
const sweepEvery = time.Minute

// RateLimiter gives every client a token bucket. It is safe for concurrent
// use.
type RateLimiter struct {
	limit rate.Limit
	burst int
	// idle is how long a bucket takes to fill up from empty; a bucket idle
	// that long is full, and dropping it forgets nothing.
	idle time.Duration

	mu        sync.Mutex
	clients   map[string]*bucket // guarded by mu
	lastSweep time.Time          // guarded by mu
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewRateLimiter allows each client perSecond requests per second on
// average and burst at once. perSecond must be positive and burst at least 1.
func NewRateLimiter(perSecond float64, burst int) (*RateLimiter, error) {
	if !(perSecond > 0) || math.IsInf(perSecond, 0) || burst < 1 {
		return nil, fmt.Errorf("limit: rate %v/s with burst %d: the rate must be positive and the burst at least 1", perSecond, burst)
	}
	idle := time.Duration(float64(burst) / perSecond * float64(time.Second))
	return &RateLimiter{limit: rate.Limit(perSecond), burst: burst, idle: idle + time.Second,
		clients: map[string]*bucket{}}, nil
}

// Allow takes one request from key's bucket at now. When the bucket is
// empty it takes nothing and says how long until a request would pass.
func (l *RateLimiter) Allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= sweepEvery {
		l.sweep(now)
	}
	b := l.clients[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.clients[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep drops the buckets that have refilled. l.mu must be held.
func (l *RateLimiter) sweep(now time.Time) {
	for k, b := range l.clients {
		if now.Sub(b.seen) > l.idle {
			delete(l.clients, k)
		}
	}
	l.lastSweep = now
}

// Clients is the number of buckets kept.
func (l *RateLimiter) Clients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// Middleware answers 429 too_many_requests with Retry-After to a client
// over its rate. key names the client (KeyIP when it returns ""); skip, when
// not nil, exempts requests such as health probes.
func (l *RateLimiter) Middleware(key func(echo.Context) string, skip func(echo.Context) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip != nil && skip(c) {
				return next(c)
			}
			k := ""
			if key != nil {
				k = key(c)
			}
			if k == "" {
				k = KeyIP(c.Request())
			}
			ok, wait := l.Allow(k, time.Now())
			if !ok {
				secs := int64(math.Ceil(wait.Seconds()))
				c.Response().Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
				return fmt.Errorf("%w: retry in %s", ErrRateLimited, wait.Round(time.Millisecond))
			}
			return next(c)
		}
	}
}

// KeyIP names a client by the IP address of its TCP peer; IPv6 clients by
// their /64, since one host usually holds a whole /64.
func KeyIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return "ip:" + host
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + addr.String()
}
