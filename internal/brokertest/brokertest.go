// Package brokertest starts real fjord broker processes for integration
// tests: it builds the binary once per test binary, runs brokers on
// 127.0.0.1 with ephemeral ports and temporary data directories, and stops
// every process it started by PID when the test ends.
//
//	b := brokertest.Start(t)
//	resp := b.Post(t, "/topics", `{"name":"orders"}`)
//	b.Kill(t)     // kill -9
//	b.Restart(t)  // same data dir, new process
package brokertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildDir  string // the temporary directory Binary built into, if any
	buildErr  error
)

// Main runs a package's tests and then removes the binary Binary built
// (tens of MB a test package, which would otherwise pile up in the temporary
// directory). Call it from TestMain: func TestMain(m *testing.M) { brokertest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// Binary builds the fjord binary once and returns its path. FJORD_BIN, when
// set, names a prebuilt binary instead.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("FJORD_BIN"); p != "" {
			binPath = p
			return
		}
		dir, err := os.MkdirTemp("", "fjord-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildDir = dir
		binPath = filepath.Join(dir, "fjord")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/fjord")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Option changes how a broker is started.
type Option interface{ apply(*Broker) }

type optionFunc func(*Broker)

func (f optionFunc) apply(b *Broker) { f(b) }

// WithArgs adds command-line flags.
func WithArgs(args ...string) Option {
	return optionFunc(func(b *Broker) { b.args = append(b.args, args...) })
}

// WithEnv adds environment variables (KEY=value).
func WithEnv(env ...string) Option {
	return optionFunc(func(b *Broker) { b.env = append(b.env, env...) })
}

// WithDataDir uses dir instead of a fresh temporary directory.
func WithDataDir(dir string) Option {
	return optionFunc(func(b *Broker) { b.DataDir = dir })
}

// WithHTTPAddr binds the HTTP API to addr (host:port) instead of an
// ephemeral port, so the address is known before the broker starts.
func WithHTTPAddr(addr string) Option {
	return optionFunc(func(b *Broker) { b.Addr = addr })
}

// WithoutReady makes Start and Restart return once the broker serves HTTP,
// without waiting for /readyz: for brokers that cannot become ready alone
// (a cluster member waiting for the others). Call WaitReady later.
func WithoutReady() Option {
	return optionFunc(func(b *Broker) { b.noReady = true })
}

// Broker is one running fjord process.
type Broker struct {
	// DataDir is the broker's data directory; it survives restarts.
	DataDir string
	// Addr is host:port of the HTTP API; it stays the same across restarts.
	Addr string
	// URL is "http://" + Addr (or https with TLS flags).
	URL string
	// Client is an HTTP client with a timeout, for convenience.
	Client *http.Client

	args    []string
	env     []string
	noReady bool
	// history holds the logs of the processes before the current one.
	history []*lockedBuffer
	mu      sync.Mutex
	cmd     *exec.Cmd
	logBuf  *lockedBuffer
	waitCh  chan struct{}
	exit    error
}

// Start runs a broker and waits until it is ready. It is stopped (killed)
// when the test ends.
func Start(t testing.TB, opts ...Option) *Broker {
	t.Helper()
	b := &Broker{Client: &http.Client{Timeout: 90 * time.Second}}
	for _, o := range opts {
		o.apply(b)
	}
	if b.DataDir == "" {
		b.DataDir = t.TempDir()
	}
	if b.Addr == "" {
		b.Addr = "127.0.0.1:0"
	}
	b.start(t)
	t.Cleanup(func() { b.stop() })
	return b
}

func (b *Broker) start(t testing.TB) {
	t.Helper()
	args := append([]string{"serve", "--http-addr", b.Addr, "--data-dir", b.DataDir, "--log-format", "json"}, b.args...)
	if !slices.Contains(args, "--gossip-addr") {
		// A broker of its own: any free gossip port, so tests run in parallel.
		args = append(args, "--gossip-addr", "127.0.0.1:0")
	}
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = append(os.Environ(), b.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Each process gets its own buffer, which its reader goroutine holds on
	// to: that goroutine may still be draining the old process's stderr when
	// a restart replaces b.logBuf.
	logBuf := &lockedBuffer{}
	if b.logBuf != nil {
		b.history = append(b.history, b.logBuf)
	}
	b.logBuf = logBuf
	cmd.Stdout = logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.cmd, b.waitCh, b.exit = cmd, make(chan struct{}), nil
	b.mu.Unlock()
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			logBuf.Write(append(append([]byte(nil), line...), '\n'))
			var m struct {
				Msg  string `json:"msg"`
				HTTP string `json:"http"`
			}
			if json.Unmarshal(line, &m) == nil && m.Msg == "fjord broker serving" {
				select {
				case addrCh <- m.HTTP:
				default:
				}
			}
		}
	}()
	waitCh := b.waitCh
	go func() {
		err := cmd.Wait()
		b.mu.Lock()
		b.exit = err
		b.mu.Unlock()
		close(waitCh)
	}()
	select {
	case addr := <-addrCh:
		b.Addr = addr
	case <-waitCh:
		t.Fatalf("broker exited before serving: %v\n%s", b.exitErr(), b.Logs())
	case <-time.After(60 * time.Second):
		b.stop()
		t.Fatalf("broker did not start in 60s\n%s", b.Logs())
	}
	scheme := "http"
	for _, a := range b.args {
		if a == "--tls-cert" {
			scheme = "https"
		}
	}
	b.URL = scheme + "://" + b.Addr
	if !b.noReady {
		b.WaitReady(t)
	}
}

func (b *Broker) exitErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.exit
}

// WaitReady polls /readyz until it answers 200 (the broker is starting; there
// is nothing to be notified by).
func (b *Broker) WaitReady(t testing.TB) {
	t.Helper()
	if strings.HasPrefix(b.URL, "https") {
		return // TLS tests check readiness with their own client
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := b.Client.Get(b.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-b.waitCh:
			t.Fatalf("broker exited: %v\n%s", b.exitErr(), b.Logs())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("broker not ready after 30s\n%s", b.Logs())
}

// PID is the process id of the running broker.
func (b *Broker) PID() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cmd.Process.Pid
}

// Kill sends SIGKILL and waits for the process to be gone.
func (b *Broker) Kill(t testing.TB) {
	t.Helper()
	_ = syscall.Kill(b.PID(), syscall.SIGKILL)
	<-b.waitCh
}

// Stop sends SIGTERM and returns the exit error (nil for status 0) once the
// process ended, failing the test after 40 s.
func (b *Broker) Stop(t testing.TB) error {
	t.Helper()
	_ = syscall.Kill(b.PID(), syscall.SIGTERM)
	select {
	case <-b.waitCh:
		return b.exitErr()
	case <-time.After(40 * time.Second):
		b.stop()
		t.Fatalf("broker did not stop within 40s of SIGTERM\n%s", b.Logs())
		return nil
	}
}

// Signal sends sig to the broker.
func (b *Broker) Signal(sig syscall.Signal) { _ = syscall.Kill(b.PID(), sig) }

// Pause freezes the broker with SIGSTOP: the process keeps its sockets and
// state but runs no code, as in a long GC pause or a stalled VM. The kernel
// still accepts connections and buffers requests, which the broker handles
// once resumed. A paused broker is still killed at the test's end.
func (b *Broker) Pause(t testing.TB) {
	t.Helper()
	if err := syscall.Kill(b.PID(), syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP broker pid %d: %v", b.PID(), err)
	}
	// kill returns before the signal has reached every thread; a thread
	// still running could answer one more request.
	if err := Poll(10*time.Second, func() error { return stopped(b.PID()) }); err != nil {
		t.Fatalf("SIGSTOP broker pid %d: %v", b.PID(), err)
	}
}

// stopped reports nil once every thread of process pid is stopped (state T
// in /proc/pid/task/*/stat).
func stopped(pid int) error {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		return fmt.Errorf("no threads of pid %d: %v", pid, err)
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(task)
		if err != nil {
			return err
		}
		// The state follows the command name in parentheses, which may
		// itself hold spaces or parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) || stat[i+2] != 'T' {
			return fmt.Errorf("thread %s not stopped yet", filepath.Base(filepath.Dir(task)))
		}
	}
	return nil
}

// Resume lets a paused broker run again with SIGCONT.
func (b *Broker) Resume(t testing.TB) {
	t.Helper()
	if err := syscall.Kill(b.PID(), syscall.SIGCONT); err != nil {
		t.Fatalf("SIGCONT broker pid %d: %v", b.PID(), err)
	}
}

// Restart starts a new process on the same data dir and address after the
// previous one ended.
func (b *Broker) Restart(t testing.TB) {
	t.Helper()
	<-b.waitCh
	b.start(t)
}

// stop kills the process group if it still runs.
func (b *Broker) stop() {
	b.mu.Lock()
	cmd, waitCh := b.cmd, b.waitCh
	b.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	select {
	case <-waitCh:
	default:
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		<-waitCh
	}
}

// Logs returns what the broker wrote so far.
func (b *Broker) Logs() string { return b.logBuf.String() }

// Do sends a request with an optional body and content type and returns the
// status and body.
func (b *Broker) Do(t testing.TB, method, path, contentType string, body io.Reader) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, b.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// Get is Do with GET.
func (b *Broker) Get(t testing.TB, path string) (int, []byte) {
	t.Helper()
	return b.Do(t, http.MethodGet, path, "", nil)
}

// Post is Do with POST and a JSON body.
func (b *Broker) Post(t testing.TB, path, body string) (int, []byte) {
	t.Helper()
	return b.Do(t, http.MethodPost, path, "application/json", strings.NewReader(body))
}

// JSON sends a request and decodes a JSON answer into out, failing the test
// unless the status is want.
func (b *Broker) JSON(t testing.TB, method, path, body string, want int, out any) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	status, got := b.Do(t, method, path, "application/json", r)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, got)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, got, err)
		}
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
