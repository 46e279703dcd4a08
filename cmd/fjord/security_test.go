package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjord-streaming/fjord/api/auth"
	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// TestEveryRouteHasAnAccessRule builds the broker's whole router, with every
// part mounted, and fails on a route the auth table does not know: a new
// endpoint cannot slip in unprotected.
func TestEveryRouteHasAnAccessRule(t *testing.T) {
	var cfg Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg.register(fs)
	cfg.DataDir, cfg.HTTPAddr, cfg.GossipAddr = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	b := &broker{cfg: cfg, log: slog.New(slog.DiscardHandler), registry: prometheus.NewRegistry()}
	if err := b.open(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for i := len(b.closers) - 1; i >= 0; i-- {
			b.closers[i]()
		}
		b.close()
	}()
	routes := b.api.Echo().Routes()
	if len(routes) < 10 {
		t.Fatalf("only %d routes: the router was not built", len(routes))
	}
	if un := auth.Unmapped(routes); len(un) > 0 {
		t.Fatalf("routes without an entry in api/auth's route table (add them to routes.go):\n%s", strings.Join(un, "\n"))
	}
}

// testPKI is a CA and a server key pair for 127.0.0.1 signed by it.
type testPKI struct {
	pool              *x509.CertPool
	ca                *x509.Certificate
	caKey             *ecdsa.PrivateKey
	certFile, keyFile string
}

func newTestPKI(t *testing.T, dir string) *testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fjord test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := &testPKI{pool: x509.NewCertPool(), ca: ca, caKey: caKey,
		certFile: filepath.Join(dir, "server.pem"), keyFile: filepath.Join(dir, "server.key")}
	p.pool.AddCert(ca)
	p.issue(t, 2)
	return p
}

// issue writes a server key pair with the given serial number.
func (p *testPKI) issue(t *testing.T, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, p.certFile, "CERTIFICATE", der)
	writePEM(t, p.keyFile, "EC PRIVATE KEY", keyDER)
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// waitReadyTLS polls /readyz over TLS (brokertest leaves that to TLS tests;
// the broker is starting and there is nothing to be notified by).
func waitReadyTLS(t *testing.T, b *brokertest.Broker) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := b.Client.Get(b.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("broker not ready over TLS\n%s", b.Logs())
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	b := brokertest.Start(t, brokertest.WithArgs("--tls-cert", pki.certFile, "--tls-key", pki.keyFile))
	if !strings.HasPrefix(b.URL, "https://") {
		t.Fatalf("URL %s is not https", b.URL)
	}
	tlsCfg := &tls.Config{RootCAs: pki.pool}
	b.Client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	waitReadyTLS(t, b)

	resp, err := b.Client.Get(b.URL + "/cluster")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("GET /cluster over TLS: %d, %+v", resp.StatusCode, resp.TLS)
	}

	t.Run("old protocol versions and weak suites are refused", func(t *testing.T) {
		for _, cfg := range []*tls.Config{
			{RootCAs: pki.pool, MaxVersion: tls.VersionTLS11},
			{RootCAs: pki.pool, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}},
			{RootCAs: pki.pool, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}},
		} {
			conn, err := tls.Dial("tcp", b.Addr, cfg)
			if err == nil {
				conn.Close()
				t.Errorf("handshake with max version %x, suites %v succeeded", cfg.MaxVersion, cfg.CipherSuites)
			}
		}
	})

	t.Run("plain HTTP is refused", func(t *testing.T) {
		resp, err := http.Get("http://" + b.Addr + "/cluster")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Fatal("plain HTTP served")
			}
		}
	})

	t.Run("WSS", func(t *testing.T) {
		d := websocket.Dialer{TLSClientConfig: tlsCfg, HandshakeTimeout: 10 * time.Second}
		c, _, err := d.Dial("wss://"+b.Addr+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := c.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","id":"s1","topic":"nope"}`)); err != nil {
			t.Fatal(err)
		}
		_, msg, err := c.ReadMessage()
		if err != nil || !strings.Contains(string(msg), `"topic_not_found"`) {
			t.Fatalf("over WSS: %s, %v", msg, err)
		}
	})

	t.Run("SIGHUP reloads the key pair", func(t *testing.T) {
		serial := func() int64 {
			conn, err := tls.Dial("tcp", b.Addr, tlsCfg)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
		}
		if s := serial(); s != 2 {
			t.Fatalf("serial %d, want 2", s)
		}
		pki.issue(t, 3)
		b.Signal(syscall.SIGHUP)
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(b.Logs(), "TLS key pair reloaded") {
			if time.Now().After(deadline) {
				t.Fatalf("no reload logged:\n%s", b.Logs())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if s := serial(); s != 3 {
			t.Fatalf("serial %d after SIGHUP, want 3", s)
		}
	})
}
