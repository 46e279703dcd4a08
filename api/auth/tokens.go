package auth

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Resource is what an ACL protects.
type Resource string

// Resources of the token file.
const (
	Topic   Resource = "topic"
	Group   Resource = "group"
	Cluster Resource = "cluster"
)

// Op is an operation on a resource.
type Op string

// Ops of the token file, and Describe, which the file cannot name: any op on
// a resource lets a token describe it.
const (
	Read     Op = "read"
	Write    Op = "write"
	Admin    Op = "admin"
	Describe Op = "describe"
)

// ErrInvalidTokens marks a token file that cannot be used.
var ErrInvalidTokens = errors.New("auth: invalid token file")

// maxTokenFile caps the size of a token file.
const maxTokenFile = 16 << 20

// ACL grants ops on the resources whose name matches Pattern.
type ACL struct {
	Resource Resource
	// Pattern is "*", an exact name, or a prefix ending in "*".
	Pattern string
	Ops     []Op
}

// matches reports whether the pattern covers name.
func (a ACL) matches(name string) bool {
	if prefix, ok := strings.CutSuffix(a.Pattern, "*"); ok {
		return strings.HasPrefix(name, prefix)
	}
	return a.Pattern == name
}

// grants reports whether the ACL gives op (Describe: any op).
func (a ACL) grants(op Op) bool {
	for _, o := range a.Ops {
		if o == op || op == Describe {
			return true
		}
	}
	return false
}

// Principal is an authenticated token. Its String form names it in logs
// without revealing the token.
type Principal struct {
	index  int
	digest [sha256.Size]byte
	acls   []ACL
}

// String is "token #N", N being the token's position (from 1) in the file.
func (p *Principal) String() string { return fmt.Sprintf("token #%d", p.index) }

// Key is a stable identity of the token for per-client bookkeeping (rate
// limits). It is derived from the token's digest; never log it.
func (p *Principal) Key() string { return string(p.digest[:]) }

// ACLs returns the token's ACLs.
func (p *Principal) ACLs() []ACL { return p.acls }

// may reports whether the principal holds op on the named resource. Cluster
// admin stands in for admin on every topic and group.
func (p *Principal) may(res Resource, name string, op Op) bool {
	for _, a := range p.acls {
		if a.Resource == res && a.matches(name) && a.grants(op) {
			return true
		}
		if a.Resource == Cluster && res != Cluster && (op == Admin || op == Describe) && a.grants(Admin) {
			return true
		}
	}
	return false
}

// Tokens is a parsed token file.
type Tokens struct {
	principals []*Principal
	byDigest   map[[sha256.Size]byte]*Principal
}

// Len is the number of tokens.
func (t *Tokens) Len() int { return len(t.principals) }

// lookup returns the principal of token, or nil. It compares the token's
// digest with every known digest in constant time, so neither the answer's
// timing nor its absence tells which or how many bytes matched.
func (t *Tokens) lookup(token string) *Principal {
	if token == "" {
		return nil
	}
	d := sha256.Sum256([]byte(token))
	var found *Principal
	for _, p := range t.principals {
		if subtle.ConstantTimeCompare(d[:], p.digest[:]) == 1 {
			found = p
		}
	}
	return found
}

// fileToken and fileACL are the JSON of the token file (API.md).
type fileToken struct {
	Token *string   `json:"token"`
	ACLs  []fileACL `json:"acls"`
}

type fileACL struct {
	Resource string   `json:"resource"`
	Pattern  *string  `json:"pattern"`
	Ops      []string `json:"ops"`
}

// ParseTokens parses a token file:
//
//	[{"token":"admin-secret","acls":[{"resource":"topic","pattern":"*","ops":["read","write","admin"]}]},
//	 {"token":"reader","acls":[{"resource":"topic","pattern":"orders","ops":["read"]}]}]
//
// It is strict: unknown fields, trailing data, empty or duplicate tokens,
// tokens with spaces or control characters, unknown resources or ops, and
// patterns with a "*" anywhere but at the end are errors wrapping
// ErrInvalidTokens. Error messages never contain a token.
func ParseTokens(data []byte) (*Tokens, error) {
	if len(data) > maxTokenFile {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidTokens, maxTokenFile)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var raw []fileToken
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidTokens, jsonError(err))
	}
	if raw == nil {
		return nil, fmt.Errorf("%w: expected a JSON array of tokens", ErrInvalidTokens)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data after the JSON array", ErrInvalidTokens)
	}
	t := &Tokens{byDigest: map[[sha256.Size]byte]*Principal{}}
	for i, ft := range raw {
		p, err := parseToken(i+1, ft)
		if err != nil {
			return nil, err
		}
		if prev, dup := t.byDigest[p.digest]; dup {
			return nil, fmt.Errorf("%w: token #%d repeats token #%d", ErrInvalidTokens, p.index, prev.index)
		}
		t.byDigest[p.digest] = p
		t.principals = append(t.principals, p)
	}
	return t, nil
}

func parseToken(index int, ft fileToken) (*Principal, error) {
	if ft.Token == nil || *ft.Token == "" {
		return nil, fmt.Errorf("%w: token #%d: \"token\" is missing or empty", ErrInvalidTokens, index)
	}
	for _, r := range []byte(*ft.Token) {
		if r <= ' ' || r >= 0x7f {
			return nil, fmt.Errorf("%w: token #%d: a token is printable ASCII without spaces", ErrInvalidTokens, index)
		}
	}
	p := &Principal{index: index, digest: sha256.Sum256([]byte(*ft.Token))}
	for j, fa := range ft.ACLs {
		acl, err := parseACL(fa)
		if err != nil {
			return nil, fmt.Errorf("%w: token #%d, acl %d: %s", ErrInvalidTokens, index, j+1, err)
		}
		p.acls = append(p.acls, acl)
	}
	return p, nil
}

func parseACL(fa fileACL) (ACL, error) {
	acl := ACL{Resource: Resource(fa.Resource)}
	switch acl.Resource {
	case Topic, Group, Cluster:
	default:
		return acl, fmt.Errorf("resource %q is not topic, group or cluster", fa.Resource)
	}
	if fa.Pattern == nil || *fa.Pattern == "" {
		return acl, errors.New(`"pattern" is missing or empty`)
	}
	acl.Pattern = *fa.Pattern
	if i := strings.IndexByte(acl.Pattern, '*'); i >= 0 && i != len(acl.Pattern)-1 {
		return acl, fmt.Errorf("pattern %q: '*' may only end a pattern", acl.Pattern)
	}
	if acl.Resource == Cluster && acl.Pattern != "*" {
		return acl, fmt.Errorf("cluster ACLs take the pattern \"*\", not %q", acl.Pattern)
	}
	if len(fa.Ops) == 0 {
		return acl, errors.New(`"ops" is missing or empty`)
	}
	for _, o := range fa.Ops {
		switch op := Op(o); op {
		case Read, Write, Admin:
			acl.Ops = append(acl.Ops, op)
		default:
			return acl, fmt.Errorf("op %q is not read, write or admin", o)
		}
	}
	return acl, nil
}

// jsonError describes a decoding error without quoting the input, which may
// hold a token.
func jsonError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %q must be %s, not %s", te.Field, te.Type, te.Value)
		}
		return fmt.Sprintf("expected %s, not %s", te.Type, te.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the file is empty or cut short"
	}
	// Unknown-field errors name the field, not its value.
	return strings.TrimPrefix(err.Error(), "json: ")
}
