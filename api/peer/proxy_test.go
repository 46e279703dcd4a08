package peer_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api/peer"
	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/internal/freeport"
)

// seen is what the downstream broker saw of a proxied request.
type seen struct {
	Method, Path, RawQuery, Body, ContentType, Host string
	Test, Hop, ForwardedBy, Secret                  string
	Forwarded                                       bool
}

func renderProblem(c echo.Context, err error) error {
	d := problem.From(err)
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	return c.JSON(d.Status, d)
}

func deadAddr(t *testing.T) string {
	t.Helper()
	addr, err := freeport.TCP()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// proxyPair starts a downstream broker 2 with test routes and a front
// broker 1 that proxies every other request to the address the
// X-Test-Target header names ("down", "dead").
func proxyPair(t *testing.T, release <-chan struct{}) (front, down *broker) {
	down = startBroker(t, 2, withRoutes(func(e *echo.Echo) {
		e.Any("/echo/*", func(c echo.Context) error {
			r := c.Request()
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return err
			}
			c.Response().Header().Set("X-Reply", "yes")
			return c.JSON(http.StatusMultiStatus, seen{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
				Body: string(b), ContentType: r.Header.Get("Content-Type"), Host: r.Host, Test: r.Header.Get("X-Test"),
				Hop: r.Header.Get("X-Hop"), ForwardedBy: r.Header.Get(peer.HeaderForwardedBy),
				Secret: r.Header.Get(peer.HeaderSecret), Forwarded: peer.Forwarded(r)})
		})
		e.GET("/second-hop", func(c echo.Context) error {
			if err := peer.Proxy(c, deadAddr(t), 2, testSecret, nil); err != nil {
				return renderProblem(c, err)
			}
			return nil
		})
		e.GET("/upgrade", func(c echo.Context) error {
			conn, rw, err := c.Response().Hijack()
			if err != nil {
				return err
			}
			defer conn.Close()
			_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: fjord-test\r\nConnection: Upgrade\r\n\r\n")
			_ = rw.Flush()
			line, err := rw.ReadString('\n') // echo one line back
			if err == nil {
				_, _ = rw.WriteString("echo " + line)
				_ = rw.Flush()
			}
			return nil
		})
		e.GET("/stream", func(c echo.Context) error {
			w := c.Response()
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "{\"n\":1}\n")
			w.Flush()
			select {
			case <-release:
			case <-c.Request().Context().Done():
			}
			_, _ = io.WriteString(w, "{\"n\":2}\n")
			return nil
		})
	}))
	dead := deadAddr(t)
	front = startBroker(t, 1, withRoutes(func(e *echo.Echo) {
		e.Any("/*", func(c echo.Context) error {
			addr := down.addr
			if c.Request().Header.Get("X-Test-Target") == "dead" {
				addr = dead
			}
			if err := peer.Proxy(c, addr, 1, testSecret, nil); err != nil {
				return renderProblem(c, err)
			}
			return nil
		})
	}))
	return front, down
}

func TestProxyPassesRequestAndAnswer(t *testing.T) {
	front, _ := proxyPair(t, nil)
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodPatch, "http://"+front.addr+"/echo/a%2Fb/c?x=1&y=%20z&x=2", strings.NewReader(`{"k": [1, 2]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/merge-patch+json")
	req.Header.Set("X-Test", "kept")
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "dropped")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got seen
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := seen{Method: "PATCH", Path: "/echo/a%2Fb/c", RawQuery: "x=1&y=%20z&x=2", Body: `{"k": [1, 2]}`,
		ContentType: "application/merge-patch+json", Host: front.addr, Test: "kept", ForwardedBy: "1", Secret: testSecret, Forwarded: true}
	if got != want {
		t.Fatalf("downstream saw\n%+v\nwant\n%+v", got, want)
	}
	if resp.StatusCode != http.StatusMultiStatus || resp.Header.Get("X-Reply") != "yes" {
		t.Fatalf("answer %d, X-Reply %q; want the downstream's 207 and header", resp.StatusCode, resp.Header.Get("X-Reply"))
	}
	if b := resp.Header.Values("X-Fjord-Broker"); len(b) != 1 || b[0] != "2" {
		t.Fatalf("X-Fjord-Broker %q, want only the downstream's 2", b)
	}
}

func TestProxyRefusesSecondHop(t *testing.T) {
	front, _ := proxyPair(t, nil)
	tests := []struct {
		name   string
		header http.Header
		broker string
	}{
		// The front proxies to the downstream, which must not proxy again.
		{"through the front", http.Header{}, "2"},
		// Called as if by another broker, the front does not proxy at all.
		{"forwarded to the front", http.Header{peer.HeaderForwardedBy: {"3"}, peer.HeaderSecret: {testSecret}}, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, body := rawCall(t, http.MethodGet, "http://"+front.addr+"/second-hop", tt.header, nil)
			d := decodeProblem(t, hdr, body)
			if status != 503 || d.Code != problem.LeaderNotAvailable || !strings.Contains(d.Detail, "not forwarded again") {
				t.Fatalf("second hop answered %d %+v, want 503 leader_not_available", status, d)
			}
			if b := hdr.Get("X-Fjord-Broker"); b != tt.broker {
				t.Fatalf("refused by broker %s, want %s", b, tt.broker)
			}
		})
	}
	// A forwarded request with a wrong secret is refused before routing.
	status, hdr, body := rawCall(t, http.MethodGet, "http://"+front.addr+"/echo/x",
		http.Header{peer.HeaderForwardedBy: {"3"}, peer.HeaderSecret: {"nope"}}, nil)
	if d := decodeProblem(t, hdr, body); status != 401 || d.Code != problem.Unauthorized {
		t.Fatalf("forged forward answered %d %+v, want 401", status, d)
	}
}

func TestProxyUnreachable(t *testing.T) {
	front, _ := proxyPair(t, nil)
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodGet, "http://"+front.addr+"/echo/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Test-Target", "dead")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	d := decodeProblem(t, resp.Header, b)
	if resp.StatusCode != 503 || d.Code != problem.LeaderNotAvailable || resp.Header.Get("X-Fjord-Broker") != "1" {
		t.Fatalf("unreachable target answered %d %+v (broker %q), want 503 leader_not_available from 1", resp.StatusCode, d, resp.Header.Get("X-Fjord-Broker"))
	}
}

func TestProxyStreams(t *testing.T) {
	release := make(chan struct{})
	front, _ := proxyPair(t, release)
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodGet, "http://"+front.addr+"/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	// The first line arrives while the downstream still holds the request.
	if line, err := r.ReadString('\n'); err != nil || line != "{\"n\":1}\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	close(release)
	if line, err := r.ReadString('\n'); err != nil || line != "{\"n\":2}\n" {
		t.Fatalf("second line %q, %v", line, err)
	}
}

func TestProxyUpgrades(t *testing.T) {
	front, _ := proxyPair(t, nil)
	conn, err := net.Dial("tcp", front.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err = io.WriteString(conn, "GET /upgrade HTTP/1.1\r\nHost: "+front.addr+"\r\nConnection: Upgrade\r\nUpgrade: fjord-test\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %d, want 101", resp.StatusCode)
	}
	if _, err := io.WriteString(conn, "ping\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "echo ping\n" {
		t.Fatalf("through the upgraded connection: %q, %v", line, err)
	}
}

func TestGather(t *testing.T) {
	list := func(id int32) brokerOpt {
		return withRoutes(func(e *echo.Echo) {
			e.GET("/groups", func(c echo.Context) error {
				if id == 3 {
					return renderProblem(c, fmt.Errorf("%w: no such thing", engine.ErrTopicNotFound))
				}
				return c.String(http.StatusOK, fmt.Sprintf("broker %d %s forwarded=%v", id, c.QueryParam("q"), peer.Forwarded(c.Request())))
			})
		})
	}
	b2, b3 := startBroker(t, 2, list(2)), startBroker(t, 3, list(3))
	bodies, errs := peer.Gather(ctxT(t), []string{b2.addr, b3.addr, deadAddr(t)}, "/groups?q=x", 1, testSecret, nil)
	if len(bodies) != 3 || len(errs) != 3 {
		t.Fatalf("got %d bodies, %d errors; want 3 each", len(bodies), len(errs))
	}
	if errs[0] != nil || string(bodies[0]) != "broker 2 x forwarded=true" {
		t.Fatalf("broker 2: %q, %v", bodies[0], errs[0])
	}
	if !errors.Is(errs[1], engine.ErrTopicNotFound) || problem.Message(errs[1]) != "no such thing" {
		t.Fatalf("broker 3: %v, want its topic not found", errs[1])
	}
	if !errors.Is(errs[2], engine.ErrLeaderNotAvailable) {
		t.Fatalf("dead broker: %v, want leader not available", errs[2])
	}
}
