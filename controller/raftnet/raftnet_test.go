package raftnet

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/internal/freeport"
)

// waitFor bounds every wait on the network, so a broken layer fails the test
// instead of hanging it.
const waitFor = 10 * time.Second

// peer is one broker's HTTP listener with a Layer mounted at Path.
type peer struct {
	layer *Layer
	srv   *httptest.Server
	// tls is what a peer dials this one with; nil without TLS.
	tls *tls.Config
}

// peerOpts configure startPeer.
type peerOpts struct {
	secret string
	tls    bool
	// mount serves the layer at Path; nil is an http.ServeMux.
	mount func(*Layer) http.Handler
}

func serveMux(l *Layer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(Path, l)
	return mux
}

// echoRouter mounts the layer the way cmd/fjord does.
func echoRouter(l *Layer) http.Handler {
	e := echo.New()
	e.Any(Path, echo.WrapHandler(l))
	return e
}

// startPeer starts an HTTP server on 127.0.0.1 serving a Layer that
// advertises the server's address. Both stop at test end.
func startPeer(t *testing.T, o peerOpts) *peer {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	l := New(Config{Advertise: srv.Listener.Addr().String(), Secret: o.secret})
	mount := o.mount
	if mount == nil {
		mount = serveMux
	}
	srv.Config.Handler = mount(l)
	p := &peer{layer: l, srv: srv}
	if o.tls {
		srv.StartTLS()
		p.tls = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	} else {
		srv.Start()
	}
	// Cleanups run last first: the layer closes before the server, so no
	// handler is left waiting for an Accept.
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = l.Close() })
	return p
}

// dialer is a Layer of another broker, used only to dial.
func dialer(secret string, tlsCfg *tls.Config) *Layer {
	return New(Config{Advertise: "127.0.0.1:1", Secret: secret, TLS: tlsCfg})
}

func (p *peer) addr() raft.ServerAddress { return raft.ServerAddress(p.srv.Listener.Addr().String()) }

// accept runs Accept with a bound.
func accept(t *testing.T, l *Layer) net.Conn {
	t.Helper()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() { c, err := l.Accept(); ch <- result{c, err} }()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Accept: %v", r.err)
		}
		t.Cleanup(func() { r.c.Close() })
		_ = r.c.SetDeadline(time.Now().Add(waitFor))
		return r.c
	case <-time.After(waitFor):
		_ = l.Close() // ends the Accept
		t.Fatal("Accept: no connection")
		return nil
	}
}

func dial(t *testing.T, d *Layer, to raft.ServerAddress) net.Conn {
	t.Helper()
	c, err := d.Dial(to, waitFor)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(waitFor))
	return c
}

// exchange sends a to b and b to a at once and checks that each arrives
// whole.
func exchange(t *testing.T, a, b net.Conn, ab, ba []byte) {
	t.Helper()
	errs := make(chan error, 2)
	send := func(c net.Conn, p []byte) {
		_, err := c.Write(p)
		errs <- err
	}
	go send(a, ab)
	go send(b, ba)
	for _, r := range []struct {
		name string
		c    net.Conn
		want []byte
	}{{"dialer to acceptor", b, ab}, {"acceptor to dialer", a, ba}} {
		got := make([]byte, len(r.want))
		if _, err := io.ReadFull(r.c, got); err != nil {
			t.Fatalf("%s: read: %v", r.name, err)
		}
		if !bytes.Equal(got, r.want) {
			t.Fatalf("%s: read %d bytes that differ from those written", r.name, len(got))
		}
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("write: %v", err)
		}
	}
}

func TestStream(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, more than any socket buffer
	tests := []struct {
		name string
		opts peerOpts
	}{
		{"ServeMux", peerOpts{}},
		{"echo as in cmd/fjord", peerOpts{mount: echoRouter}},
		{"secret", peerOpts{secret: "s3cret"}},
		{"TLS", peerOpts{secret: "s3cret", tls: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPeer(t, tt.opts)
			d := dialer(tt.opts.secret, p.tls)
			a := dial(t, d, p.addr())
			// Bytes sent at once after the upgrade, before Accept, must
			// not be lost in the server's read buffer.
			if _, err := a.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			b := accept(t, p.layer)
			got := make([]byte, 5)
			if _, err := io.ReadFull(b, got); err != nil || string(got) != "hello" {
				t.Fatalf("first read = %q, %v; want hello", got, err)
			}
			exchange(t, a, b, []byte("ping"), []byte("pong"))
			exchange(t, a, b, big, big[:len(big)/2])

			// A second stream to the same peer is independent of the first.
			a2 := dial(t, d, p.addr())
			b2 := accept(t, p.layer)
			exchange(t, a2, b2, []byte("second"), []byte("stream"))
			exchange(t, a, b, []byte("first"), []byte("again"))
		})
	}
}

// TestWire speaks the upgrade of the package doc to each side with bytes
// following the handshake in the same write, which the side's HTTP reader
// buffers and must not lose.
func TestWire(t *testing.T) {
	t.Run("to the handler", func(t *testing.T) {
		p := startPeer(t, peerOpts{secret: "s3cret"})
		c, err := net.DialTimeout("tcp", string(p.addr()), waitFor)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(waitFor))
		req := "GET " + Path + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: fjord-raft\r\n" +
			"X-Fjord-Cluster-Secret: s3cret\r\n\r\nearly"
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "fjord-raft" {
			t.Fatalf("response %s, Upgrade %q; want 101, fjord-raft", resp.Status, resp.Header.Get("Upgrade"))
		}
		got := make([]byte, 5)
		if _, err := io.ReadFull(accept(t, p.layer), got); err != nil || string(got) != "early" {
			t.Fatalf("accepted stream read %q, %v; want early", got, err)
		}
	})
	t.Run("to Dial", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		reqc := make(chan *http.Request, 1)
		errc := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				errc <- err
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(waitFor))
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err != nil {
				errc <- err
				return
			}
			reqc <- req
			_, err = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: fjord-raft\r\n\r\nearly")
			if err == nil {
				// Hold the connection until the dialer has read and closed.
				_, err = io.Copy(io.Discard, c)
			}
			errc <- err
		}()
		c := dial(t, dialer("s3cret", nil), raft.ServerAddress(ln.Addr().String()))
		got := make([]byte, 5)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "early" {
			t.Fatalf("dialed stream read %q, %v; want early", got, err)
		}
		c.Close()
		if err := <-errc; err != nil {
			t.Fatalf("server: %v", err)
		}
		req := <-reqc
		if req.Method != http.MethodGet || req.URL.Path != Path || req.Header.Get("Upgrade") != "fjord-raft" ||
			req.Header.Get("Connection") != "Upgrade" || req.Header.Get("X-Fjord-Cluster-Secret") != "s3cret" {
			t.Fatalf("Dial sent %s %s with headers %v", req.Method, req.URL, req.Header)
		}
	})
}

// TestSecret checks that an upgrade without the cluster secret is refused
// and never reaches Accept.
func TestSecret(t *testing.T) {
	tests := []struct {
		name           string
		server, dialer string
		ok             bool
	}{
		{"none required", "", "", true},
		{"none required, one sent", "", "anything", true},
		{"right", "s3cret", "s3cret", true},
		{"missing", "s3cret", "", false},
		{"wrong", "s3cret", "guess", false},
		{"prefix", "s3cret", "s3cre", false},
		{"longer", "s3cret", "s3cret2", false},
		{"case", "s3cret", "S3CRET", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPeer(t, peerOpts{secret: tt.server})
			c, err := dialer(tt.dialer, nil).Dial(p.addr(), waitFor)
			if tt.ok {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				c.Close()
				// Take the accepted connection off the queue.
				accept(t, p.layer)
			} else if err == nil {
				c.Close()
				t.Fatal("Dial succeeded; want a refusal")
			} else if !strings.Contains(err.Error(), "401") {
				t.Fatalf("Dial: %v; want 401 Unauthorized", err)
			}
			// The refused peer got its answer only after the handler
			// returned, so the next connection Accept returns must be
			// this one.
			a := dial(t, dialer(tt.server, nil), p.addr())
			if _, err := a.Write([]byte("mine")); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 4)
			if _, err := io.ReadFull(accept(t, p.layer), got); err != nil || string(got) != "mine" {
				t.Fatalf("accepted connection read %q, %v; want the rightful peer's \"mine\"", got, err)
			}
		})
	}
}

// TestNotUpgrade checks that ordinary requests to Path are refused.
func TestNotUpgrade(t *testing.T) {
	p := startPeer(t, peerOpts{})
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, err := http.NewRequest(method, p.srv.URL+Path, strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s %s = %s; want 400", method, Path, resp.Status)
		}
	}
}

func TestClose(t *testing.T) {
	t.Run("pending Accept fails", func(t *testing.T) {
		p := startPeer(t, peerOpts{})
		errc := make(chan error, 1)
		go func() {
			c, err := p.layer.Accept()
			if c != nil {
				c.Close()
			}
			errc <- err
		}()
		if err := p.layer.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		select {
		case err := <-errc:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("Accept = %v; want ErrClosed", err)
			}
		case <-time.After(waitFor):
			t.Fatal("Accept still waiting after Close")
		}
	})
	t.Run("Accept after Close fails", func(t *testing.T) {
		p := startPeer(t, peerOpts{})
		for range 2 { // Close is idempotent
			if err := p.layer.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
		if c, err := p.layer.Accept(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Accept = %v, %v; want ErrClosed", c, err)
		}
	})
	t.Run("upgrade after Close refused", func(t *testing.T) {
		p := startPeer(t, peerOpts{})
		_ = p.layer.Close()
		c, err := dialer("", nil).Dial(p.addr(), waitFor)
		if err == nil {
			c.Close()
			t.Fatal("Dial after Close succeeded")
		}
		if !strings.Contains(err.Error(), "503") {
			t.Fatalf("Dial after Close: %v; want 503 Service Unavailable", err)
		}
	})
	t.Run("unaccepted stream closed", func(t *testing.T) {
		p := startPeer(t, peerOpts{})
		// Upgraded, but nobody accepts it before Close.
		c := dial(t, dialer("", nil), p.addr())
		_ = p.layer.Close()
		n, err := c.Read(make([]byte, 1))
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read of an unaccepted stream after Close = %d, %v; want it closed", n, err)
		}
	})
}

func TestAddr(t *testing.T) {
	for _, advertise := range []string{"127.0.0.1:9092", "broker-1.fjord.internal:8080"} {
		l := New(Config{Advertise: advertise})
		if got := l.Addr(); got.String() != advertise || got.Network() != "tcp" {
			t.Errorf("Addr() = %s %q; want tcp %q", got.Network(), got, advertise)
		}
		// Raft puts the transport's local address in its configuration.
		tr := NewTransport(l, nil)
		if got := tr.LocalAddr(); got != raft.ServerAddress(advertise) {
			t.Errorf("LocalAddr() = %q; want %q", got, advertise)
		}
		if err := tr.Close(); err != nil {
			t.Errorf("transport Close: %v", err)
		}
	}
}

// recordingFSM passes each applied command on.
type recordingFSM struct{ applied chan string }

func (f *recordingFSM) Apply(l *raft.Log) any {
	f.applied <- string(l.Data)
	return "applied " + string(l.Data)
}

func (f *recordingFSM) Snapshot() (raft.FSMSnapshot, error) { return emptySnapshot{}, nil }
func (f *recordingFSM) Restore(rc io.ReadCloser) error      { return rc.Close() }

type emptySnapshot struct{}

func (emptySnapshot) Persist(sink raft.SnapshotSink) error { return sink.Close() }
func (emptySnapshot) Release()                             {}

type raftNode struct {
	id  raft.ServerID
	r   *raft.Raft
	fsm *recordingFSM
}

// TestRaftCluster runs a two-voter Raft cluster over the layer, carried by
// each broker's HTTP listener, and replicates a command.
func TestRaftCluster(t *testing.T) {
	const secret = "s3cret"
	var peers []*peer
	var servers []raft.Server
	for i := range 2 {
		p := startPeer(t, peerOpts{secret: secret, mount: echoRouter})
		peers = append(peers, p)
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(fmt.Sprintf("b%d", i+1)), Address: p.addr()})
	}
	var nodes []*raftNode
	for i, p := range peers {
		conf := raft.DefaultConfig()
		conf.LocalID = servers[i].ID
		conf.Logger = HCLogger(nil, "raft")
		// hashicorp/raft's own test timings.
		conf.HeartbeatTimeout, conf.ElectionTimeout = 50*time.Millisecond, 50*time.Millisecond
		conf.LeaderLeaseTimeout, conf.CommitTimeout = 50*time.Millisecond, 5*time.Millisecond
		n := &raftNode{id: conf.LocalID, fsm: &recordingFSM{applied: make(chan string, 16)}}
		store := raft.NewInmemStore()
		var err error
		n.r, err = raft.NewRaft(conf, n.fsm, store, store, raft.NewInmemSnapshotStore(), NewTransport(p.layer, nil))
		if err != nil {
			t.Fatalf("NewRaft: %v", err)
		}
		// Shuts down before the peer's server (cleanups run last first)
		// and closes the transport, and with it the layer.
		t.Cleanup(func() {
			if err := n.r.Shutdown().Error(); err != nil {
				t.Errorf("shutdown %s: %v", n.id, err)
			}
		})
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		if err := n.r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
			t.Fatalf("bootstrap %s: %v", n.id, err)
		}
	}

	leader := waitLeader(t, nodes)
	f := leader.r.Apply([]byte("create topic orders"), waitFor)
	if err := f.Error(); err != nil {
		t.Fatalf("Apply on leader %s: %v", leader.id, err)
	}
	if got := f.Response(); got != "applied create topic orders" {
		t.Errorf("Apply response = %v", got)
	}
	for _, n := range nodes {
		select {
		case got := <-n.fsm.applied:
			if got != "create topic orders" {
				t.Errorf("%s applied %q", n.id, got)
			}
		case <-time.After(waitFor):
			t.Fatalf("%s did not apply the command", n.id)
		}
		select {
		case got := <-n.fsm.applied:
			t.Errorf("%s applied an unexpected %q", n.id, got)
		default:
		}
	}
}

// waitLeader polls until both nodes name the same leader and it knows it
// leads.
func waitLeader(t *testing.T, nodes []*raftNode) *raftNode {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitFor)
	for {
		_, id := nodes[0].r.LeaderWithID()
		agreed := id != ""
		for _, n := range nodes[1:] {
			if _, other := n.r.LeaderWithID(); other != id {
				agreed = false
			}
		}
		for _, n := range nodes {
			if agreed && n.id == id && n.r.State() == raft.Leader {
				return n
			}
		}
		select {
		case <-tick.C:
		case <-deadline:
			for _, n := range nodes {
				addr, lid := n.r.LeaderWithID()
				t.Logf("%s: state %v, leader %q at %q", n.id, n.r.State(), lid, addr)
			}
			t.Fatal("no leader agreed on")
		}
	}
}

// refusingAddr is an address on 127.0.0.1 that nothing listens on.
func refusingAddr(t *testing.T) string {
	t.Helper()
	a, err := freeport.TCP()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// dialAsync runs Dial in a goroutine and waits until the peer refused it
// at least once.
func dialAsync(t *testing.T, d *Layer, to string) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		c, err := d.Dial(raft.ServerAddress(to), waitFor)
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	for deadline := time.Now().Add(waitFor); d.refusals.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Dial never tried the refusing address")
		}
	}
	return done
}

func TestDialRefused(t *testing.T) {
	t.Run("waits for the peer to come back", func(t *testing.T) {
		a := refusingAddr(t)
		d := dialer("", nil)
		done := dialAsync(t, d, a)
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Skipf("address %s was taken meanwhile: %v", a, err)
		}
		srv := httptest.NewUnstartedServer(nil)
		srv.Listener.Close()
		srv.Listener = ln
		l := New(Config{Advertise: a})
		srv.Config.Handler = serveMux(l)
		srv.Start()
		t.Cleanup(srv.Close)
		t.Cleanup(func() { _ = l.Close() })
		accept(t, l)
		if err := <-done; err != nil {
			t.Fatalf("Dial: %v; want it connected once the peer listens", err)
		}
	})
	t.Run("ends at StopDialing", func(t *testing.T) {
		d := dialer("", nil)
		done := dialAsync(t, d, refusingAddr(t))
		d.StopDialing()
		select {
		case err := <-done:
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("Dial: %v; want connection refused", err)
			}
		case <-time.After(waitFor):
			t.Fatal("Dial still waits after StopDialing")
		}
	})
	t.Run("gives up at the timeout", func(t *testing.T) {
		d := dialer("", nil)
		start := time.Now()
		_, err := d.Dial(raft.ServerAddress(refusingAddr(t)), 200*time.Millisecond)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("Dial: %v; want connection refused", err)
		}
		if n := d.refusals.Load(); n < 2 {
			t.Fatalf("%d tries in %v; want Dial to try again until its timeout", n, time.Since(start))
		}
	})
}
