package peer_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api/peer"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage/storagetest"
)

// streamLeader is a leader whose replica fetch answers a test chooses: the
// peer server in front of it is real, and so is the engine behind every
// other method.
type streamLeader struct {
	*engine.Engine
	serve func(ctx context.Context, req engine.ReplicaFetchRequest) engine.ReplicaFetchResponse
}

func (l *streamLeader) ServeReplicaFetch(ctx context.Context, req engine.ReplicaFetchRequest) engine.ReplicaFetchResponse {
	return l.serve(ctx, req)
}

// streamBroker is a peer server on 127.0.0.1 that counts the replica
// requests it receives.
type streamBroker struct {
	addr   string
	server *peer.Server

	mu       sync.Mutex
	upgrades int // GETs of the stream path
	posts    int // POSTs of rounds
}

func (b *streamBroker) counts() (upgrades, posts int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.upgrades, b.posts
}

// startStreamBroker serves a leader answering rounds with serve. Without
// the stream, it answers the stream's path 404, as a broker that predates
// it does.
func startStreamBroker(t *testing.T, withStream bool, serve func(context.Context, engine.ReplicaFetchRequest) engine.ReplicaFetchResponse) *streamBroker {
	t.Helper()
	eng, err := engine.Open(storagetest.OpenMem(t), engine.Config{BrokerID: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := &streamBroker{server: peer.NewServer(peer.ServerConfig{Secret: testSecret}, &streamLeader{Engine: eng, serve: serve}, nil)}
	newEcho(t, 1, func(e *echo.Echo) {
		e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				r := c.Request()
				b.mu.Lock()
				switch {
				case r.Method == http.MethodGet && r.URL.Path == peer.PathPrefix+"replica/stream":
					b.upgrades++
				case r.Method == http.MethodPost && r.URL.Path == peer.PathPrefix+"replica/fetch":
					b.posts++
				}
				b.mu.Unlock()
				if !withStream && r.URL.Path == peer.PathPrefix+"replica/stream" {
					return echo.ErrNotFound
				}
				return next(c)
			}
		})
		b.server.Mount(e)
	}, &b.addr)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.server.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
		eng.Close()
	})
	return b
}

// echoAnswer answers each partition of a round with its fetch offset as
// the HW and one batch naming the round, so that answers tell rounds apart.
func echoAnswer(_ context.Context, req engine.ReplicaFetchRequest) engine.ReplicaFetchResponse {
	var resp engine.ReplicaFetchResponse
	for _, p := range req.Partitions {
		resp.Partitions = append(resp.Partitions, engine.ReplicaFetchAnswer{TopicID: p.TopicID, Partition: p.Partition,
			HighWatermark: p.FetchOffset, LogEnd: p.FetchOffset + 1, DivergingEnd: -1,
			Batches: [][]byte{fmt.Appendf(nil, "batch %d/%d at %d", p.TopicID, p.Partition, p.FetchOffset), {}}})
	}
	return resp
}

func streamRequest(offset int64) engine.ReplicaFetchRequest {
	return engine.ReplicaFetchRequest{Follower: 2, Incarnation: "inc", MaxWait: time.Second, MaxBytes: 1 << 20,
		Partitions: []engine.ReplicaFetchPartition{{TopicID: 7, FetchOffset: offset}, {TopicID: 7, Partition: 1, FetchOffset: offset * 2}}}
}

func streamClient(t *testing.T, secret string, addr string) *peer.Client {
	t.Helper()
	c := peer.NewClient(peer.ClientConfig{Self: 2, Secret: secret, Resolver: resolver{1: addr}, Version: func() uint64 { return 0 }})
	t.Cleanup(c.Close)
	return c
}

// TestReplicaStreamRounds checks that rounds travel over one stream, their
// answers byte-exact, whatever became of an earlier round's context, and
// that a leader without the stream is fetched from with POSTs, asked for
// the stream once only.
func TestReplicaStreamRounds(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name                   string
		withStream             bool
		wantUpgrades, wantPost int
	}{
		{"stream", true, 1, 0},
		{"leader without the stream", false, 1, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := startStreamBroker(t, tt.withStream, echoAnswer)
			c := streamClient(t, testSecret, b.addr)
			for i := range int64(5) {
				ctx, cancel := context.WithCancel(context.Background())
				got, err := c.ReplicaFetch(ctx, 1, streamRequest(i))
				cancel() // a finished round's context ending leaves the stream alone
				if err != nil {
					t.Fatalf("round %d: %v", i, err)
				}
				if want := echoAnswer(ctx, streamRequest(i)); !reflect.DeepEqual(got, want) {
					t.Fatalf("round %d = %+v, want %+v", i, got, want)
				}
			}
			if up, posts := b.counts(); up != tt.wantUpgrades || posts != tt.wantPost {
				t.Errorf("stream upgrades %d, POST rounds %d; want %d and %d", up, posts, tt.wantUpgrades, tt.wantPost)
			}
		})
	}
}

// TestReplicaStreamCancel checks that a round's context ending ends the
// round at once, even while the leader long-polls, and that the next round
// opens a new stream.
func TestReplicaStreamCancel(t *testing.T) {
	t.Parallel()
	waiting := make(chan struct{}, 1)
	b := startStreamBroker(t, true, func(ctx context.Context, req engine.ReplicaFetchRequest) engine.ReplicaFetchResponse {
		if req.Partitions[0].FetchOffset == 1 { // the long poll
			waiting <- struct{}{}
			<-ctx.Done()
		}
		return echoAnswer(ctx, req)
	})
	c := streamClient(t, testSecret, b.addr)
	if _, err := c.ReplicaFetch(context.Background(), 1, streamRequest(0)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.ReplicaFetch(ctx, 1, streamRequest(1))
		errc <- err
	}()
	<-waiting
	cancel()
	if err := <-errc; !errors.Is(err, engine.ErrTimeout) {
		t.Fatalf("cancelled round: %v, want ErrTimeout", err)
	}
	if _, err := c.ReplicaFetch(context.Background(), 1, streamRequest(2)); err != nil {
		t.Fatalf("round after the cancelled one: %v", err)
	}
	if up, _ := b.counts(); up != 2 {
		t.Errorf("%d stream upgrades, want 2", up)
	}
}

// TestReplicaStreamServerClose checks that Server.Close ends open streams,
// a round in progress included, and refuses new ones.
func TestReplicaStreamServerClose(t *testing.T) {
	t.Parallel()
	waiting := make(chan struct{}, 1)
	b := startStreamBroker(t, true, func(ctx context.Context, req engine.ReplicaFetchRequest) engine.ReplicaFetchResponse {
		waiting <- struct{}{}
		<-ctx.Done() // until the server closes
		return echoAnswer(ctx, req)
	})
	c := streamClient(t, testSecret, b.addr)
	errc := make(chan error, 1)
	go func() {
		_, err := c.ReplicaFetch(context.Background(), 1, streamRequest(0))
		errc <- err
	}()
	<-waiting
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.server.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, engine.ErrLeaderNotAvailable) {
		t.Fatalf("round on a closed stream: %v, want ErrLeaderNotAvailable", err)
	}
	if _, err := c.ReplicaFetch(context.Background(), 1, streamRequest(1)); err == nil {
		t.Fatal("a stream opened after Close")
	}
}

// TestReplicaStreamRefuses checks what the stream refuses: a wrong secret
// before it opens, and malformed frames, which end the stream without an
// answer and leave the server serving.
func TestReplicaStreamRefuses(t *testing.T) {
	t.Parallel()
	b := startStreamBroker(t, true, echoAnswer)
	if _, err := streamClient(t, "wrong", b.addr).ReplicaFetch(context.Background(), 1, streamRequest(0)); err == nil {
		t.Error("a wrong secret opened the stream")
	}
	frame := func(payload []byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
	}
	good := append(make([]byte, 8), peer.EncodeReplicaRequest(streamRequest(3))...)
	tests := []struct {
		name    string
		bytes   []byte
		answers int
	}{
		{"short frame", frame([]byte{1, 2, 3}), 0},
		{"bad request", frame(append(make([]byte, 8), 0xFF, 0xFF)), 0},
		{"frame over the limit", binary.BigEndian.AppendUint32(nil, 1<<30), 0},
		{"good frame, then junk", append(frame(good), frame([]byte("junk junk junk"))...), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, rd := rawStream(t, b.addr)
			if _, err := conn.Write(tt.bytes); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			rest, err := io.ReadAll(rd)
			if err != nil {
				t.Fatalf("the server did not close the stream: %v", err)
			}
			answers := 0
			for len(rest) >= 4 {
				n := int(binary.BigEndian.Uint32(rest))
				if len(rest) < 4+n {
					t.Fatalf("truncated answer")
				}
				rest = rest[4+n:]
				answers++
			}
			if answers != tt.answers || len(rest) != 0 {
				t.Errorf("%d answers and %d stray bytes, want %d and none", answers, len(rest), tt.answers)
			}
		})
	}
	if _, err := streamClient(t, testSecret, b.addr).ReplicaFetch(context.Background(), 1, streamRequest(4)); err != nil {
		t.Fatalf("after malformed streams: %v", err)
	}
}

// rawStream opens a replica stream by hand and returns the connection and
// a reader past the 101 answer.
func rawStream(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	req := "GET " + peer.PathPrefix + "replica/stream HTTP/1.1\r\nHost: " + addr + "\r\nConnection: Upgrade\r\n" +
		"Upgrade: fjord-replica/1\r\n" + peer.HeaderForwardedBy + ": 2\r\n" + peer.HeaderSecret + ": " + testSecret + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(conn)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %d", resp.StatusCode)
	}
	return conn, rd
}
