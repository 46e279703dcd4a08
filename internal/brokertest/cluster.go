package brokertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/internal/freeport"
)

// PollPeriod is how often WaitFor and the Cluster's waits look again.
const PollPeriod = 25 * time.Millisecond

// formTimeout bounds how long StartCluster waits for the cluster to form.
const formTimeout = 60 * time.Second

// ClusterOption changes how StartCluster starts a cluster.
type ClusterOption interface{ applyCluster(*clusterConfig) }

type clusterOptionFunc func(*clusterConfig)

func (f clusterOptionFunc) applyCluster(c *clusterConfig) { f(c) }

type clusterConfig struct {
	order      []int
	secret     string
	brokerOpts []Option
	deferred   []int
}

// WithStartOrder starts the brokers in this order of ids (a permutation
// of 1..n) instead of 1..n.
func WithStartOrder(ids ...int) ClusterOption {
	return clusterOptionFunc(func(c *clusterConfig) { c.order = slices.Clone(ids) })
}

// WithDeferred leaves brokers ids out of StartCluster: their addresses are
// fixed and in every broker's --join list, but they start only with
// StartDeferred, so that a test can grow the cluster. At least two brokers
// must start with the cluster: a broker started with --join forms a
// cluster only once it sees another.
func WithDeferred(ids ...int) ClusterOption {
	return clusterOptionFunc(func(c *clusterConfig) { c.deferred = append(c.deferred, ids...) })
}

// WithClusterSecret sets the --cluster-secret of every broker.
func WithClusterSecret(secret string) ClusterOption {
	return clusterOptionFunc(func(c *clusterConfig) { c.secret = secret })
}

// WithBrokerOptions applies opts to every broker of the cluster, after the
// cluster's own flags (a flag given here wins).
func WithBrokerOptions(opts ...Option) ClusterOption {
	return clusterOptionFunc(func(c *clusterConfig) { c.brokerOpts = append(c.brokerOpts, opts...) })
}

// Cluster is n brokers with ids 1..n on 127.0.0.1, each joining the others'
// gossip addresses with the local gossip profile and a shared secret. Their
// HTTP and gossip ports are fixed before the first start, so a restarted or
// wiped broker comes back at the same addresses.
type Cluster struct {
	// Secret is the --cluster-secret of every broker.
	Secret string

	ids     []int
	brokers map[int]*Broker
	gossip  map[int]string
	// opts start each broker; deferred brokers have them but no Broker yet.
	opts map[int][]Option
}

// ClusterInfo is the body of GET /cluster.
type ClusterInfo struct {
	ClusterID       string          `json:"cluster_id"`
	ControllerID    int             `json:"controller_id"`
	MetadataVersion int64           `json:"metadata_version"`
	Brokers         []ClusterBroker `json:"brokers"`
}

// ClusterBroker is one broker in ClusterInfo.
type ClusterBroker struct {
	ID       int    `json:"id"`
	HTTPAddr string `json:"http_addr"`
	Status   string `json:"status"`
}

// StartCluster starts n brokers one at a time in the start order. From the
// second broker on, it waits after each start until every broker started so
// far is ready, so the cluster really forms in that order: the first two
// form it, the later ones are added. It returns once every broker's
// /cluster shows all n alive and the same controller. Every process is
// stopped by PID when the test ends; when the test failed, the tail of
// every broker's log is logged.
func StartCluster(t testing.TB, n int, opts ...ClusterOption) *Cluster {
	t.Helper()
	cfg := clusterConfig{secret: "brokertest-cluster-secret"}
	for i := 1; i <= n; i++ {
		cfg.order = append(cfg.order, i)
	}
	for _, o := range opts {
		o.applyCluster(&cfg)
	}
	if !isPermutation(cfg.order, n) {
		t.Fatalf("brokertest: start order %v is not a permutation of 1..%d", cfg.order, n)
	}
	httpAddrs, gossipAddrs, err := freeport.Addrs(n)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Secret: cfg.secret, brokers: map[int]*Broker{}, gossip: map[int]string{}, opts: map[int][]Option{}}
	for i := 1; i <= n; i++ {
		c.ids = append(c.ids, i)
		c.gossip[i] = gossipAddrs[i-1]
	}
	for _, id := range c.ids {
		var join []string
		for _, other := range c.ids {
			if other != id {
				join = append(join, c.gossip[other])
			}
		}
		addr := httpAddrs[id-1]
		bopts := []Option{WithHTTPAddr(addr), WithoutReady(), WithArgs(
			"--id", strconv.Itoa(id), "--advertise-http", addr,
			"--gossip-addr", c.gossip[id], "--join", strings.Join(join, ","),
			"--gossip-profile", "local", "--cluster-secret", cfg.secret)}
		c.opts[id] = append(bopts, cfg.brokerOpts...)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker logs (last 150 lines of each):\n%s", c.LogTails(150))
		}
	})
	var started []int
	for _, id := range cfg.order {
		if slices.Contains(cfg.deferred, id) {
			continue
		}
		c.brokers[id] = Start(t, c.opts[id]...)
		started = append(started, id)
		if len(started) > 1 {
			for _, s := range started {
				c.brokers[s].WaitReady(t)
			}
		}
	}
	if len(started) < 2 {
		t.Fatalf("brokertest: %d broker(s) would start; a cluster needs two", len(started))
	}
	for _, id := range started {
		c.brokers[id].WaitReady(t)
	}
	c.WaitFormed(t, formTimeout)
	return c
}

// StartDeferred starts the brokers ids that WithDeferred held back, all
// before waiting, and waits until each is ready and the cluster has formed
// with them.
func (c *Cluster) StartDeferred(t testing.TB, ids ...int) {
	t.Helper()
	for _, id := range ids {
		if _, ok := c.opts[id]; !ok {
			t.Fatalf("brokertest: no broker %d", id)
		}
		if _, ok := c.brokers[id]; ok {
			t.Fatalf("brokertest: broker %d has started already", id)
		}
		c.brokers[id] = Start(t, c.opts[id]...)
	}
	for _, id := range ids {
		c.brokers[id].WaitReady(t)
	}
	c.WaitFormed(t, formTimeout)
}

// isPermutation reports whether order holds each of 1..n once.
func isPermutation(order []int, n int) bool {
	if len(order) != n {
		return false
	}
	s := slices.Sorted(slices.Values(order))
	for i, v := range s {
		if v != i+1 {
			return false
		}
	}
	return true
}

// IDs returns the broker ids, 1..n.
func (c *Cluster) IDs() []int { return slices.Clone(c.ids) }

// Broker returns broker id.
func (c *Cluster) Broker(id int) *Broker {
	b, ok := c.brokers[id]
	if !ok {
		panic(fmt.Sprintf("brokertest: no broker %d", id))
	}
	return b
}

// GossipAddr is broker id's gossip address.
func (c *Cluster) GossipAddr(id int) string { return c.gossip[id] }

// Running returns the ids of brokers whose process runs, ascending.
func (c *Cluster) Running() []int {
	var out []int
	for _, id := range c.ids {
		if b, ok := c.brokers[id]; ok && !b.Exited() {
			out = append(out, id)
		}
	}
	return out
}

// Kill sends SIGKILL to broker id and waits for it to be gone.
func (c *Cluster) Kill(t testing.TB, id int) {
	t.Helper()
	c.Broker(id).Kill(t)
}

// Pause freezes broker id with SIGSTOP (Broker.Pause).
func (c *Cluster) Pause(t testing.TB, id int) {
	t.Helper()
	c.Broker(id).Pause(t)
}

// Resume lets the paused broker id run again with SIGCONT.
func (c *Cluster) Resume(t testing.TB, id int) {
	t.Helper()
	c.Broker(id).Resume(t)
}

// Stop sends SIGTERM to broker id and returns its exit error once it ended.
func (c *Cluster) Stop(t testing.TB, id int) error {
	t.Helper()
	return c.Broker(id).Stop(t)
}

// Restart starts the stopped brokers ids again on their data dirs and
// addresses, all before waiting, then waits until each is ready.
func (c *Cluster) Restart(t testing.TB, ids ...int) {
	t.Helper()
	for _, id := range ids {
		if !c.Broker(id).Exited() {
			t.Fatalf("brokertest: restart of broker %d, which still runs", id)
		}
		c.Broker(id).Restart(t)
	}
	for _, id := range ids {
		c.Broker(id).WaitReady(t)
	}
}

// Wipe deletes the data dir of the stopped broker id, as if its disk were
// replaced: its next start formats a new one with a new incarnation.
func (c *Cluster) Wipe(t testing.TB, id int) {
	t.Helper()
	b := c.Broker(id)
	if !b.Exited() {
		t.Fatalf("brokertest: wipe of broker %d, which still runs", id)
	}
	if err := os.RemoveAll(b.DataDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(b.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// Info returns broker id's GET /cluster.
func (c *Cluster) Info(t testing.TB, id int) ClusterInfo {
	t.Helper()
	var info ClusterInfo
	c.Broker(id).JSON(t, http.MethodGet, "/cluster", "", http.StatusOK, &info)
	return info
}

// tryInfo is Info that returns errors, for polling.
func (c *Cluster) tryInfo(id int) (ClusterInfo, error) {
	var info ClusterInfo
	r, err := c.Broker(id).TryCall(context.Background(), http.MethodGet, "/cluster", "", 5*time.Second)
	if err != nil {
		return info, err
	}
	if r.Status != http.StatusOK {
		return info, fmt.Errorf("broker %d: GET /cluster: %s", id, r)
	}
	if err := json.Unmarshal(r.Body, &info); err != nil {
		return info, fmt.Errorf("broker %d: GET /cluster: %w", id, err)
	}
	return info, nil
}

// WaitFormed waits until every running broker's /cluster shows every running
// broker alive at its address and all of them name the same controller, one
// of the running brokers.
func (c *Cluster) WaitFormed(t testing.TB, timeout time.Duration) {
	t.Helper()
	WaitFor(t, timeout, "the cluster to form", func() error {
		running := c.Running()
		controller := 0
		for _, id := range running {
			info, err := c.tryInfo(id)
			if err != nil {
				return err
			}
			for _, other := range running {
				i := slices.IndexFunc(info.Brokers, func(b ClusterBroker) bool { return b.ID == other })
				if i < 0 || info.Brokers[i].Status != "alive" || info.Brokers[i].HTTPAddr != c.Broker(other).Addr {
					return fmt.Errorf("broker %d does not show broker %d alive at %s: %+v", id, other, c.Broker(other).Addr, info)
				}
			}
			if controller == 0 {
				controller = info.ControllerID
			}
			if info.ControllerID != controller || !slices.Contains(running, controller) {
				return fmt.Errorf("broker %d names controller %d (others %d; running %v)", id, info.ControllerID, controller, running)
			}
		}
		return nil
	})
}

// WaitController waits until every running broker's /cluster names broker
// id as the controller (-1: none) and returns how long that took.
func (c *Cluster) WaitController(t testing.TB, id int, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	WaitFor(t, timeout, fmt.Sprintf("broker %d to control the cluster", id), func() error {
		for _, b := range c.Running() {
			info, err := c.tryInfo(b)
			if err != nil {
				return err
			}
			if info.ControllerID != id {
				return fmt.Errorf("broker %d names controller %d", b, info.ControllerID)
			}
		}
		return nil
	})
	return time.Since(start)
}

// Get is Broker(id).Get.
func (c *Cluster) Get(t testing.TB, id int, path string) (int, []byte) {
	t.Helper()
	return c.Broker(id).Get(t, path)
}

// Post is Broker(id).Post.
func (c *Cluster) Post(t testing.TB, id int, path, body string) (int, []byte) {
	t.Helper()
	return c.Broker(id).Post(t, path, body)
}

// Do is Broker(id).Do.
func (c *Cluster) Do(t testing.TB, id int, method, path, contentType string, body io.Reader) (int, []byte) {
	t.Helper()
	return c.Broker(id).Do(t, method, path, contentType, body)
}

// JSON is Broker(id).JSON.
func (c *Cluster) JSON(t testing.TB, id int, method, path, body string, want int, out any) {
	t.Helper()
	c.Broker(id).JSON(t, method, path, body, want, out)
}

// Call is Broker(id).Call.
func (c *Cluster) Call(t testing.TB, id int, method, path, body string) Response {
	t.Helper()
	return c.Broker(id).Call(t, method, path, body)
}

// LogTails returns the last lines of every broker's log, earlier processes
// of a restarted broker included.
func (c *Cluster) LogTails(lines int) string {
	var sb strings.Builder
	for _, id := range c.ids {
		b, ok := c.brokers[id]
		if !ok {
			continue
		}
		all := strings.Split(strings.TrimSuffix(b.AllLogs(), "\n"), "\n")
		if len(all) > lines {
			all = all[len(all)-lines:]
		}
		fmt.Fprintf(&sb, "--- broker %d (pid of the last process %d) ---\n%s\n", id, b.PID(), strings.Join(all, "\n"))
	}
	return sb.String()
}

// Response is a whole HTTP answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// String shows the status and the start of the body.
func (r Response) String() string {
	body := string(r.Body)
	if len(body) > 500 {
		body = body[:500] + "..."
	}
	return fmt.Sprintf("%d %s", r.Status, strings.TrimSpace(body))
}

// Code is the problem+json code of the answer, or "".
func (r Response) Code() string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(r.Body, &p)
	return p.Code
}

// BrokerID is the answer's X-Fjord-Broker header as a number, -1 without one.
func (r Response) BrokerID() int {
	id, err := strconv.Atoi(r.Header.Get("X-Fjord-Broker"))
	if err != nil {
		return -1
	}
	return id
}

// Call sends a request with an optional JSON body and returns the whole
// answer, failing the test when there is none.
func (b *Broker) Call(t testing.TB, method, path, body string) Response {
	t.Helper()
	r, err := b.TryCall(context.Background(), method, path, body, 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TryCall is Call that returns errors, for polling and for goroutines other
// than the test's; the request is abandoned after timeout.
func (b *Broker) TryCall(ctx context.Context, method, path, body string, timeout time.Duration) (Response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.URL+path, r)
	if err != nil {
		return Response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: reading body: %w", method, path, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: out}, nil
}

// Exited reports whether the broker's current process has ended.
func (b *Broker) Exited() bool {
	b.mu.Lock()
	waitCh := b.waitCh
	b.mu.Unlock()
	select {
	case <-waitCh:
		return true
	default:
		return false
	}
}

// AllLogs returns the logs of every process of this broker, oldest first.
func (b *Broker) AllLogs() string {
	var sb strings.Builder
	for i, h := range b.history {
		fmt.Fprintf(&sb, "=== process %d ===\n%s", i+1, h.String())
	}
	if len(b.history) > 0 {
		fmt.Fprintf(&sb, "=== process %d ===\n", len(b.history)+1)
	}
	sb.WriteString(b.Logs())
	return sb.String()
}

// LogRecords returns the JSON log records of the current process whose msg
// is msg, in order.
func (b *Broker) LogRecords(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(b.Logs(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// WaitFor polls cond every PollPeriod until it returns nil, failing the
// test with cond's last error after timeout. It is for observing
// convergence of processes that cannot notify the test.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	if err := Poll(timeout, cond); err != nil {
		t.Fatalf("waiting %v for %s: %v", timeout, what, err)
	}
}

// Poll is WaitFor that returns cond's last error after timeout instead of
// failing a test.
func Poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(PollPeriod)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		<-tick.C
	}
}
