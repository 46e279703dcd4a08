package limit

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	l, err := NewRateLimiter(2, 3) // 2/s, 3 at once
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_700_000_000, 0)
	steps := []struct {
		key   string
		at    time.Duration
		ok    bool
		retry time.Duration
	}{
		{"a", 0, true, 0},
		{"a", 0, true, 0},
		{"a", 0, true, 0},
		{"a", 0, false, 500 * time.Millisecond}, // bucket empty: one token in 1/2 s
		{"b", 0, true, 0},                       // other clients are not affected
		{"a", 250 * time.Millisecond, false, 250 * time.Millisecond},
		{"a", 500 * time.Millisecond, true, 0},
		{"a", 500 * time.Millisecond, false, 500 * time.Millisecond},
	}
	for i, s := range steps {
		ok, retry := l.Allow(s.key, t0.Add(s.at))
		if ok != s.ok || retry != s.retry {
			t.Fatalf("step %d (%s at %v): ok=%v retry=%v, want ok=%v retry=%v", i, s.key, s.at, ok, retry, s.ok, s.retry)
		}
	}
	// Idle buckets are dropped once full again, at the next sweep.
	if n := l.Clients(); n != 2 {
		t.Fatalf("%d clients, want 2", n)
	}
	l.Allow("c", t0.Add(2*time.Minute))
	if n := l.Clients(); n != 1 {
		t.Fatalf("%d clients after the sweep, want 1", n)
	}
}

func TestNewRateLimiterRefusesNonsense(t *testing.T) {
	for _, c := range []struct {
		rate  float64
		burst int
	}{{0, 1}, {-1, 1}, {1, 0}} {
		if _, err := NewRateLimiter(c.rate, c.burst); err == nil {
			t.Errorf("NewRateLimiter(%v, %d) accepted", c.rate, c.burst)
		}
	}
}

func TestKeyIP(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"127.0.0.1:5000", "ip:127.0.0.1"},
		{"[::ffff:10.0.0.1]:80", "ip:10.0.0.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "ip:2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "ip:2001:db8:1:2::/64"},
		{"garbage", "ip:garbage"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tt.remote
		r.Header.Set("X-Forwarded-For", "1.2.3.4") // never trusted
		if got := KeyIP(r); got != tt.want {
			t.Errorf("KeyIP(%s) = %s, want %s", tt.remote, got, tt.want)
		}
	}
}

func TestIsLongPoll(t *testing.T) {
	tests := []struct {
		method, url, path string
		want              bool
	}{
		{"GET", "/topics/t/partitions/0/records?timeout_ms=5000", "/topics/:topic/partitions/:partition/records", true},
		{"GET", "/topics/t/partitions/0/records?timeout_ms=0", "/topics/:topic/partitions/:partition/records", false},
		{"GET", "/groups/g/members/m/records", "/groups/:group/members/:member/records", true},
		{"POST", "/topics/t/records?timeout_ms=5000", "/topics/:topic/records", false},
		{"GET", "/topics/t?timeout_ms=5000", "/topics/:topic", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.url, nil)
		if got := isLongPoll(r, tt.path); got != tt.want {
			t.Errorf("isLongPoll(%s %s) = %v, want %v", tt.method, tt.url, got, tt.want)
		}
	}
}
