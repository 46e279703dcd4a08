package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/fjord-streaming/fjord/api/problem"
)

// Sentinel errors of authentication and authorization. The API answers them
// with 401 unauthorized and 403 forbidden.
var (
	ErrUnauthorized = errors.New("auth: missing or unknown token")
	ErrForbidden    = errors.New("auth: forbidden")
)

func init() {
	problem.Register(
		problem.Mapping{Err: ErrUnauthorized, Status: http.StatusUnauthorized, Code: problem.Unauthorized},
		problem.Mapping{Err: ErrForbidden, Status: http.StatusForbidden, Code: problem.Forbidden},
	)
}

// Authorizer holds the current tokens and answers every access question.
// It is safe for concurrent use; Reload swaps the tokens atomically.
type Authorizer struct {
	path   string
	log    *slog.Logger
	tokens atomic.Pointer[Tokens]
	// reloadMu serializes reloads, so two SIGHUPs never interleave.
	reloadMu sync.Mutex
	// secret is the cluster secret (SetClusterSecret); empty trusts no
	// forwarded request.
	secret []byte
}

// Open reads the token file at path. log receives reload outcomes (never a
// token); nil discards them.
func Open(path string, log *slog.Logger) (*Authorizer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Authorizer{path: path, log: log}
	t, err := readTokens(path)
	if err != nil {
		return nil, err
	}
	a.tokens.Store(t)
	return a, nil
}

// New returns an Authorizer over already parsed tokens; Reload is not
// available on it.
func New(t *Tokens) *Authorizer {
	a := &Authorizer{log: slog.New(slog.DiscardHandler)}
	a.tokens.Store(t)
	return a
}

func readTokens(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTokens, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrInvalidTokens, path, err)
	}
	t, err := ParseTokens(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Reload re-reads the token file. On success the new tokens apply to every
// later request at once; on error the previous tokens stay in force. Either
// way the outcome is logged.
func (a *Authorizer) Reload() error {
	if a.path == "" {
		return errors.New("auth: no token file to reload")
	}
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	t, err := readTokens(a.path)
	if err != nil {
		a.log.Error("token file reload failed; the previous tokens stay in force", "err", err)
		return err
	}
	a.tokens.Store(t)
	a.log.Info("token file reloaded", "path", a.path, "tokens", t.Len())
	return nil
}

// Tokens returns the tokens in force.
func (a *Authorizer) Tokens() *Tokens { return a.tokens.Load() }

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal Middleware authenticated for the
// request, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// bearer extracts the token of an "Authorization: Bearer …" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// authenticate finds the principal of r's bearer token, or of its ?token=
// query parameter when query is true and the header is absent.
func (a *Authorizer) authenticate(r *http.Request, query bool) (*Principal, error) {
	token := bearer(r)
	if token == "" && query {
		token = r.URL.Query().Get("token")
	}
	if token == "" {
		return nil, fmt.Errorf("%w: send Authorization: Bearer <token>", ErrUnauthorized)
	}
	p := a.tokens.Load().lookup(token)
	if p == nil {
		return nil, fmt.Errorf("%w: the token is not known", ErrUnauthorized)
	}
	return p, nil
}

// AuthenticateRequest returns the principal of a WebSocket handshake (or any
// request): the one Middleware already found, else the bearer token, else
// the ?token= query parameter. A missing or unknown token is
// ErrUnauthorized.
func (a *Authorizer) AuthenticateRequest(r *http.Request) (*Principal, error) {
	if p := FromContext(r.Context()); p != nil {
		return p, nil
	}
	return a.authenticate(r, true)
}

// Allow reports whether p may perform op on the named resource: nil, or an
// error wrapping ErrForbidden (ErrUnauthorized when p is nil). Cluster
// resources have no name; pass "". The token's ACLs are those in force now:
// a principal authenticated before a reload (an open WebSocket) gets the new
// ACLs, and ErrUnauthorized once its token was removed.
func (a *Authorizer) Allow(p *Principal, res Resource, name string, op Op) error {
	if p == nil {
		return ErrUnauthorized
	}
	cur := a.tokens.Load().byDigest[p.digest]
	if cur == nil {
		return fmt.Errorf("%w: the token was revoked", ErrUnauthorized)
	}
	p = cur
	if res == Cluster {
		name = "*"
	}
	if p.may(res, name, op) {
		return nil
	}
	if res == Cluster {
		return fmt.Errorf("%w: %s may not %s the cluster", ErrForbidden, p, op)
	}
	return fmt.Errorf("%w: %s may not %s %s %q", ErrForbidden, p, op, res, name)
}
