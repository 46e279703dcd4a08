package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/labstack/echo/v4"
	"golang.org/x/net/netutil"

	"github.com/fjord-streaming/fjord/api/auth"
	"github.com/fjord-streaming/fjord/api/limit"
)

// security is the broker's access control and TLS state.
type security struct {
	// auth is nil unless --auth-tokens is set.
	auth *auth.Authorizer
	// cert is nil unless --tls-cert is set.
	cert *certificate
}

func (l Limits) validate() error {
	var errs []error
	if l.ReadHeaderTimeout <= 0 || l.IdleTimeout <= 0 || l.BodyReadTimeout < 0 {
		errs = append(errs, errors.New("--read-header-timeout and --idle-timeout must be positive, --body-read-timeout not negative"))
	}
	if l.MaxHeaderBytes < 4096 {
		errs = append(errs, errors.New("--max-header-bytes must be at least 4096"))
	}
	if l.MaxConnections < 0 || l.MaxLongPolls < 1 {
		errs = append(errs, errors.New("--max-connections must not be negative and --max-long-polls must be positive"))
	}
	if l.RateLimit < 0 || l.RateBurst < 1 {
		errs = append(errs, errors.New("--rate-limit must not be negative and --rate-burst must be at least 1"))
	}
	return errors.Join(errs...)
}

// secure puts rate limiting, access control and the long-poll cap in front
// of every route. mount calls it last, so the check for routes without an
// access rule sees them all.
func (b *broker) secure() error {
	e := b.api.Echo()
	if b.cfg.AuthTokens != "" {
		a, err := auth.Open(b.cfg.AuthTokens, b.log)
		if err != nil {
			return err
		}
		a.SetClusterSecret(b.cfg.ClusterSecret)
		b.sec.auth = a
		if un := auth.Unmapped(e.Routes()); len(un) > 0 {
			b.log.Warn("routes without an access rule: only cluster admins may use them", "routes", un)
		}
		b.log.Info("bearer-token auth on", "tokens", a.Tokens().Len())
	}
	l := b.cfg.Limits
	if l.RateLimit > 0 {
		rl, err := limit.NewRateLimiter(l.RateLimit, l.RateBurst)
		if err != nil {
			return err
		}
		e.Use(rl.Middleware(b.clientKey, func(c echo.Context) bool {
			return c.Path() == "/healthz" || c.Path() == "/readyz"
		}))
	}
	if b.sec.auth != nil {
		e.Use(b.sec.auth.Middleware(e))
	}
	e.Use(limit.NewLongPolls(l.MaxLongPolls, b.registry).Middleware())
	return nil
}

// clientKey names a client for rate limiting: its token when it sends a
// known one, else "" (its IP).
func (b *broker) clientKey(c echo.Context) string {
	if b.sec.auth == nil {
		return ""
	}
	if p := b.sec.auth.Identify(b.api.Echo(), c); p != nil {
		return "token:" + p.Key()
	}
	return ""
}

// httpServer builds the HTTP server with its timeouts, header and body
// limits and TLS, and caps the connections ln accepts. On error it returns
// ln unchanged, for the caller to close.
func (b *broker) httpServer(ln net.Listener) (*http.Server, net.Listener, error) {
	l := b.cfg.Limits
	srv := &http.Server{
		Handler:           limit.BodyDeadline(b.api.Handler(), l.BodyReadTimeout),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(b.log.Handler(), slog.LevelDebug),
	}
	if b.cfg.TLSCert != "" {
		c, err := loadCertificate(b.cfg.TLSCert, b.cfg.TLSKey)
		if err != nil {
			return nil, ln, err
		}
		b.sec.cert = c
		srv.TLSConfig = tlsConfig(c)
	}
	if l.MaxConnections > 0 {
		ln = netutil.LimitListener(ln, l.MaxConnections)
	}
	return srv, ln, nil
}

// tlsConfig is TLS 1.2 or later; with 1.2, only forward-secret AEAD suites.
// TLS 1.3 suites are not configurable and all strong.
func tlsConfig(c *certificate) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		GetCertificate: c.get,
	}
}

// certificate is the served key pair; SIGHUP re-reads it, so a renewed
// certificate takes effect without a restart.
type certificate struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

func loadCertificate(certFile, keyFile string) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile}
	if err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certificate) reload() error {
	kp, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	c.cur.Store(&kp)
	return nil
}

func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.cur.Load(), nil }

// reloadOnHangup re-reads the token file and the TLS key pair on every
// SIGHUP; a file that fails to load leaves the previous one in force. The
// returned function stops listening and waits for the goroutine.
func (b *broker) reloadOnHangup() (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-hup:
				b.reload()
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		wg.Wait()
	}
}

func (b *broker) reload() {
	if b.sec.auth == nil && b.sec.cert == nil {
		b.log.Info("SIGHUP: nothing to reload (no --auth-tokens, no --tls-cert)")
		return
	}
	if b.sec.auth != nil {
		_ = b.sec.auth.Reload() // logs its outcome
	}
	if b.sec.cert != nil {
		if err := b.sec.cert.reload(); err != nil {
			b.log.Error("TLS key pair reload failed; the previous one stays in force", "err", err)
		} else {
			b.log.Info("TLS key pair reloaded", "cert", b.sec.cert.certFile)
		}
	}
}
