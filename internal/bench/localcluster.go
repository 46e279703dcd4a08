package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fjord-streaming/fjord/internal/freeport"
)

// pollPeriod is how often the cluster subcommands look again while they
// wait for a broker or a partition to reach a state.
const pollPeriod = 20 * time.Millisecond

// clusterOptions are the flags of the subcommands that start their own
// brokers (failover, replication).
type clusterOptions struct {
	Brokers       int    `json:"brokers"`
	Bin           string `json:"bin"`
	Dir           string `json:"dir,omitempty"`
	GossipProfile string `json:"gossip_profile"`
	JSON          bool   `json:"-"`
	Quiet         bool   `json:"-"`
}

func (o *clusterOptions) register(fs *flag.FlagSet) {
	fs.IntVar(&o.Brokers, "brokers", 3, "brokers to start on 127.0.0.1")
	fs.StringVar(&o.Bin, "bin", "", "fjord binary the brokers run (default: this one)")
	fs.StringVar(&o.Dir, "dir", "", "directory for the brokers' data and logs, kept afterwards (default: a temporary one, removed)")
	fs.StringVar(&o.GossipProfile, "gossip-profile", "local", "the brokers' --gossip-profile (local, lan, wan): failure detection time")
	fs.BoolVar(&o.JSON, "json", false, "print the summary as one JSON object on stdout")
	fs.BoolVar(&o.Quiet, "quiet", false, "no progress lines on stderr")
}

// logger prints one progress line.
type logger func(format string, a ...any)

// withLocalCluster starts the brokers o names, runs body on them with a
// progress logger on stderr (silent with --quiet), and stops them, keeping
// their data and logs when body failed.
func withLocalCluster(ctx context.Context, name string, o clusterOptions, stderr io.Writer, body func(c *localCluster, logf logger) error) error {
	logf := func(format string, a ...any) {
		if !o.Quiet {
			fmt.Fprintf(stderr, format+"\n", a...)
		}
	}
	logf("%s: starting %d brokers", name, o.Brokers)
	c, err := startLocalCluster(ctx, o)
	if err != nil {
		return err
	}
	err = body(c, logf)
	c.stop(err != nil)
	return err
}

// localCluster is brokers 1..n of a fjord binary on 127.0.0.1, started,
// killed and stopped by the benchmark itself. Each broker's data is in
// dir/<id> and its log in dir/<id>.log. stop ends every process it started.
type localCluster struct {
	bin, dir, secret, profile string
	keepDir                   bool
	http, gossip              []string // by id-1
	procs                     map[int]*localBroker
	hc                        *http.Client
}

// localBroker is one running broker process.
type localBroker struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	log  *os.File
}

// startLocalCluster starts o.Brokers brokers that join each other and waits
// until every one is ready and sees the others alive.
func startLocalCluster(ctx context.Context, o clusterOptions) (*localCluster, error) {
	if o.Brokers < 1 {
		return nil, errors.New("bench: --brokers must be at least 1")
	}
	c := &localCluster{bin: o.Bin, dir: o.Dir, keepDir: o.Dir != "", secret: "fjord-bench", profile: o.GossipProfile,
		procs: map[int]*localBroker{}, hc: &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}}}
	var err error
	if c.bin == "" {
		if c.bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("bench: this binary's path: %w", err)
		}
	}
	if c.dir == "" {
		c.dir, err = os.MkdirTemp("", "fjord-bench-")
	} else {
		err = os.MkdirAll(c.dir, 0o755)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: data dir: %w", err)
	}
	if c.http, c.gossip, err = freeport.Addrs(o.Brokers); err != nil {
		return nil, err
	}
	for id := 1; id <= o.Brokers; id++ {
		if err := c.start(id); err != nil {
			c.stop(true)
			return nil, err
		}
	}
	if err := c.waitFormed(ctx); err != nil {
		c.stop(true)
		return nil, err
	}
	return c, nil
}

// ids returns 1..n.
func (c *localCluster) ids() []int {
	ids := make([]int, len(c.http))
	for i := range ids {
		ids[i] = i + 1
	}
	return ids
}

// start runs broker id on its data dir and addresses.
func (c *localCluster) start(id int) error {
	var join []string
	for i, g := range c.gossip {
		if i+1 != id {
			join = append(join, g)
		}
	}
	log, err := os.OpenFile(filepath.Join(c.dir, strconv.Itoa(id)+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("bench: broker %d log: %w", id, err)
	}
	addr := c.http[id-1]
	cmd := exec.Command(c.bin, "serve", "--id", strconv.Itoa(id), "--http-addr", addr, "--advertise-http", addr,
		"--data-dir", filepath.Join(c.dir, strconv.Itoa(id)), "--gossip-addr", c.gossip[id-1],
		"--join", strings.Join(join, ","), "--gossip-profile", c.profile, "--cluster-secret", c.secret,
		"--log-level", "warn")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return fmt.Errorf("bench: start broker %d: %w", id, err)
	}
	b := &localBroker{cmd: cmd, done: make(chan struct{}), log: log}
	go func() {
		_ = cmd.Wait()
		_ = log.Close()
		close(b.done)
	}()
	c.procs[id] = b
	return nil
}

// kill ends broker id with SIGKILL and waits until it is gone.
func (c *localCluster) kill(id int) {
	if b := c.procs[id]; b != nil {
		_ = syscall.Kill(b.cmd.Process.Pid, syscall.SIGKILL)
		<-b.done
		delete(c.procs, id)
	}
}

// terminate stops broker id with SIGTERM (a controlled shutdown) and waits
// until it has exited.
func (c *localCluster) terminate(id int) error {
	b := c.procs[id]
	if b == nil {
		return nil
	}
	_ = syscall.Kill(b.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		return fmt.Errorf("bench: broker %d did not stop within 30 s of SIGTERM", id)
	}
	delete(c.procs, id)
	return nil
}

// stop ends every broker still running (SIGTERM, SIGKILL of the process
// group after 20 s) and removes the data unless --dir named it or keep is
// set (a failed run keeps the logs).
func (c *localCluster) stop(keep bool) {
	for _, b := range c.procs {
		_ = syscall.Kill(b.cmd.Process.Pid, syscall.SIGTERM)
	}
	for id, b := range c.procs {
		select {
		case <-b.done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
			<-b.done
		}
		delete(c.procs, id)
	}
	if !c.keepDir && !keep {
		_ = os.RemoveAll(c.dir)
	}
}

// anyRunning returns the lowest id of a running broker (1 when none is).
func (c *localCluster) anyRunning() int {
	for _, id := range c.ids() {
		if c.procs[id] != nil {
			return id
		}
	}
	return 1
}

// other returns the lowest broker id that is not id.
func (c *localCluster) other(id int) int {
	if id == 1 {
		return 2
	}
	return 1
}

// url is broker id's base URL.
func (c *localCluster) url(id int) string { return "http://" + c.http[id-1] }

// call sends one request to broker id and decodes a 2xx JSON answer into
// out (when not nil). Other statuses are errors naming the API code.
func (c *localCluster) call(ctx context.Context, id int, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.url(id)+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		key, msg := failureKey(resp.StatusCode, data)
		return resp.StatusCode, &answerError{key: key, msg: fmt.Sprintf("%s %s%s: %s %s", method, c.url(id), path, key, msg)}
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(data, out)
	}
	return resp.StatusCode, nil
}

// answerError is a non-2xx answer; key is "<status> <code>".
type answerError struct{ key, msg string }

func (e *answerError) Error() string { return e.msg }

// clusterView is the part of GET /cluster the subcommands use.
type clusterView struct {
	ControllerID int `json:"controller_id"`
	Brokers      []struct {
		ID     int    `json:"id"`
		Status string `json:"status"`
	} `json:"brokers"`
}

// waitFormed waits until every broker is ready and sees every broker alive
// with one controller.
func (c *localCluster) waitFormed(ctx context.Context) error {
	return c.poll(ctx, 90*time.Second, "the cluster to form", func() error {
		controller := 0
		for _, id := range c.ids() {
			if _, err := c.call(ctx, id, http.MethodGet, "/readyz", nil, nil); err != nil {
				return err
			}
			var v clusterView
			if _, err := c.call(ctx, id, http.MethodGet, "/cluster", nil, &v); err != nil {
				return err
			}
			alive := 0
			for _, b := range v.Brokers {
				if b.Status == "alive" {
					alive++
				}
			}
			if alive != len(c.http) || v.ControllerID == 0 || (controller != 0 && v.ControllerID != controller) {
				return fmt.Errorf("broker %d sees %d of %d alive, controller %d", id, alive, len(c.http), v.ControllerID)
			}
			controller = v.ControllerID
		}
		return nil
	})
}

// partitionView is the part of a partition in GET /topics/{t} the
// subcommands use.
type partitionView struct {
	Leader        int   `json:"leader"`
	LeaderEpoch   int   `json:"leader_epoch"`
	ISR           []int `json:"isr"`
	HighWatermark int64 `json:"high_watermark"`
	LogEndOffset  int64 `json:"log_end_offset"`
	ReplicaStates []struct {
		Broker       int   `json:"broker"`
		LogEndOffset int64 `json:"log_end_offset"`
	} `json:"replica_states"`
}

// partition describes partition 0 of topic as broker id knows it.
func (c *localCluster) partition(ctx context.Context, id int, topic string) (partitionView, error) {
	var d struct {
		Partitions []partitionView `json:"partitions"`
	}
	if _, err := c.call(ctx, id, http.MethodGet, "/topics/"+url.PathEscape(topic), nil, &d); err != nil {
		return partitionView{}, err
	}
	if len(d.Partitions) == 0 {
		return partitionView{}, fmt.Errorf("topic %s has no partitions", topic)
	}
	return d.Partitions[0], nil
}

// createTopic creates a one-partition topic through broker 1 and waits
// until its ISR holds all rf replicas.
func (c *localCluster) createTopic(ctx context.Context, name string, rf int, config map[string]any) error {
	body := map[string]any{"name": name, "partitions": 1, "replication_factor": rf, "config": config}
	if _, err := c.call(ctx, 1, http.MethodPost, "/topics", body, nil); err != nil {
		return fmt.Errorf("bench: create %s: %w", name, err)
	}
	return c.waitISR(ctx, name, rf)
}

// waitISR waits until partition 0 of topic has a leader and n in-sync
// replicas.
func (c *localCluster) waitISR(ctx context.Context, topic string, n int) error {
	return c.poll(ctx, 60*time.Second, fmt.Sprintf("%s to have %d in-sync replicas", topic, n), func() error {
		p, err := c.partition(ctx, c.anyRunning(), topic)
		if err != nil {
			return err
		}
		if p.Leader <= 0 || len(p.ISR) != n {
			return fmt.Errorf("leader %d, isr %v", p.Leader, p.ISR)
		}
		return nil
	})
}

// poll calls cond every pollPeriod until it returns nil, ctx ends or
// timeout passes; the error then names what was awaited and cond's last
// error.
func (c *localCluster) poll(ctx context.Context, timeout time.Duration, what string, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("bench: waiting for %s: %w (broker logs in %s)", what, errors.Join(ctx.Err(), err), c.dir)
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollPeriod):
		}
	}
}
