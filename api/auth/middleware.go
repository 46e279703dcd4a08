package auth

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api/problem"
)

// maxInspectedBody caps how much of a body Middleware reads to find names
// (topic create, group join). Larger bodies yield the name "".
const maxInspectedBody = 1 << 20

// ctxPrincipal is where Identify caches its answer in the echo context.
const ctxPrincipal = "fjord.auth.principal"

type identity struct {
	p   *Principal
	err error
}

// principal authenticates c's request once and caches the answer.
func (a *Authorizer) principal(c echo.Context, r *rule) (*Principal, error) {
	if id, ok := c.Get(ctxPrincipal).(identity); ok {
		return id.p, id.err
	}
	p, err := a.authenticate(c.Request(), r != nil && r.queryToken)
	c.Set(ctxPrincipal, identity{p, err})
	return p, err
}

// Identify returns the principal of c's token, or nil when the route is open
// or the token is missing or unknown. It never refuses a request; rate
// limiting uses it to key clients by token before Middleware runs.
func (a *Authorizer) Identify(e *echo.Echo, c echo.Context) *Principal {
	r := ruleFor(e, c)
	if r == nil || r.open {
		return nil
	}
	p, _ := a.principal(c, r)
	return p
}

// Middleware enforces the route table on every request of e: open routes
// pass; every other route needs a known token (401 unauthorized with
// WWW-Authenticate: Bearer otherwise) holding the route's permissions (403
// forbidden otherwise). The principal is put in the request's context
// (FromContext). Install it with e.Use after CORS, so preflights need no
// token.
func (a *Authorizer) Middleware(e *echo.Echo) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := ruleFor(e, c)
			if r == nil || r.open || a.fromBroker(c.Request()) {
				return next(c)
			}
			p, err := a.principal(c, r)
			if err != nil {
				challenge := `Bearer realm="fjord"`
				if bearer(c.Request()) != "" || (r.queryToken && c.Request().URL.Query().Has("token")) {
					challenge += `, error="invalid_token"`
				}
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
				return err
			}
			req := c.Request()
			c.SetRequest(req.WithContext(WithPrincipal(req.Context(), p)))
			if err := a.check(c, p, r); err != nil {
				return err
			}
			if r.list != nil && !p.seesAll(r.list.res) {
				return a.filterList(c, next, p, r.list)
			}
			return next(c)
		}
	}
}

// check asks Allow for every permission r needs.
func (a *Authorizer) check(c echo.Context, p *Principal, r *rule) error {
	if r.unmapped {
		if err := a.Allow(p, Cluster, "", Admin); err != nil {
			return fmt.Errorf("%w: route %s %s has no access rule; only cluster admins may use it", ErrForbidden, c.Request().Method, c.Path())
		}
		return nil
	}
	var data []byte
	for _, n := range r.needs {
		names := []string{""}
		switch {
		case n.names.param:
			if v := c.ParamValues(); len(v) > 0 {
				names = []string{v[0]}
			}
		case n.names.bodyField != "":
			if data == nil {
				var err error
				if data, err = peekBody(c.Request()); err != nil {
					return err
				}
			}
			names = bodyNames(data, n.names.bodyField)
		}
		for _, name := range names {
			if err := a.Allow(p, n.res, name, n.op); err != nil {
				return err
			}
		}
	}
	return nil
}

// peekBody reads up to maxInspectedBody bytes of r's body and puts them back
// in front of the rest, so the handler reads the whole body unchanged.
func peekBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return []byte{}, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxInspectedBody))
	if err != nil {
		// Errors that already carry their answer (a body deadline, a size
		// limit) keep it.
		var pe *problem.Error
		var mbe *http.MaxBytesError
		if errors.As(err, &pe) || errors.As(err, &mbe) {
			return nil, err
		}
		return nil, problem.New(http.StatusBadRequest, problem.InvalidRequest, "reading the request body: "+err.Error())
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(data), r.Body), r.Body}
	return data, nil
}

// seesAll reports whether p can see every resource of the kind res.
func (p *Principal) seesAll(res Resource) bool {
	for _, a := range p.acls {
		if (a.Resource == res && a.Pattern == "*") || (a.Resource == Cluster && a.grants(Admin)) {
			return true
		}
	}
	return false
}

// captureWriter holds a handler's answer so it can be filtered.
type captureWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (w *captureWriter) Header() http.Header { return w.header }
func (w *captureWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}
func (w *captureWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.buf.Write(b)
}

// filterList runs next with its answer captured, and drops from a 200 JSON
// list the entries p cannot see.
func (a *Authorizer) filterList(c echo.Context, next echo.HandlerFunc, p *Principal, f *listFilter) error {
	resp := c.Response()
	orig := resp.Writer
	cw := &captureWriter{header: orig.Header()}
	resp.Writer = cw
	err := next(c)
	resp.Writer = orig
	if err != nil {
		// Nothing was written (echo renders returned errors later); undo the
		// committed state the capture may have left.
		if cw.status == 0 {
			return err
		}
	}
	out := cw.buf.Bytes()
	if cw.status == http.StatusOK && strings.HasPrefix(orig.Header().Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
		filtered, ferr := filterJSON(out, p, f)
		if ferr != nil {
			return ferr
		}
		out = filtered
	}
	orig.Header().Del(echo.HeaderContentLength)
	if cw.status != 0 {
		orig.WriteHeader(cw.status)
	}
	_, werr := orig.Write(out)
	if err != nil {
		return err
	}
	return werr
}

// filterJSON keeps, in body[f.member], the entries whose f.field p may
// describe. Other members are kept as they are.
func filterJSON(body []byte, p *Principal, f *listFilter) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("auth: filtering %s list: %w", f.res, err)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(obj[f.member], &entries); err != nil {
		return nil, fmt.Errorf("auth: filtering %s list: %w", f.res, err)
	}
	kept := make([]json.RawMessage, 0, len(entries))
	for _, raw := range entries {
		var entry map[string]json.RawMessage
		var name string
		if json.Unmarshal(raw, &entry) == nil && json.Unmarshal(entry[f.field], &name) == nil && p.may(f.res, name, Describe) {
			kept = append(kept, raw)
		}
	}
	obj[f.member], _ = json.Marshal(kept)
	out, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("auth: filtering %s list: %w", f.res, err)
	}
	return append(out, '\n'), nil
}

// Headers of requests one broker forwards to another (api/peer sets them).
const (
	// ClusterSecretHeader carries --cluster-secret.
	ClusterSecretHeader = "X-Fjord-Cluster-Secret"
	// ForwardedByHeader names the broker that forwarded the request.
	ForwardedByHeader = "X-Fjord-Forwarded-By"
)

// SetClusterSecret makes requests that another broker forwarded with the
// cluster secret pass without a token: the broker that first received the
// request already authenticated and authorized it. Without a secret no
// request is trusted that way. Call it before serving.
func (a *Authorizer) SetClusterSecret(secret string) { a.secret = []byte(secret) }

// fromBroker reports whether r was forwarded by a broker holding the
// cluster secret.
func (a *Authorizer) fromBroker(r *http.Request) bool {
	if len(a.secret) == 0 || r.Header.Get(ForwardedByHeader) == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(r.Header.Get(ClusterSecretHeader)), a.secret) == 1
}
