package auth

import (
	"errors"
	"strings"
	"testing"
)

// apiExample is the token file of API.md.
const apiExample = `
[{"token":"admin-secret","acls":[{"resource":"topic","pattern":"*","ops":["read","write","admin"]},
                                 {"resource":"group","pattern":"*","ops":["read"]},
                                 {"resource":"cluster","pattern":"*","ops":["read","admin"]}]},
 {"token":"reader","acls":[{"resource":"topic","pattern":"orders","ops":["read"]}]}]`

func TestParseTokens(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		tokens  int
		wantErr string // substring of the error; "" means success
	}{
		{"api example", apiExample, 2, ""},
		{"empty list", `[]`, 0, ""},
		{"no acls", `[{"token":"t1"}]`, 1, ""},
		{"prefix pattern", `[{"token":"t1","acls":[{"resource":"group","pattern":"team-*","ops":["read"]}]}]`, 1, ""},
		{"null", `null`, 0, "JSON array"},
		{"object", `{"token":"t1"}`, 0, "expected"},
		{"empty file", ``, 0, "empty or cut short"},
		{"trailing", `[] []`, 0, "trailing data"},
		{"unknown field", `[{"token":"t1","acl":[]}]`, 0, `unknown field "acl"`},
		{"unknown acl field", `[{"token":"t1","acls":[{"resource":"topic","pattern":"*","ops":["read"],"x":1}]}]`, 0, "unknown field"},
		{"missing token", `[{"acls":[]}]`, 0, "token #1"},
		{"empty token", `[{"token":""}]`, 0, "missing or empty"},
		{"space in token", `[{"token":"a b"}]`, 0, "printable ASCII"},
		{"non-ascii token", `[{"token":"é"}]`, 0, "printable ASCII"},
		{"duplicate", `[{"token":"t1"},{"token":"t1"}]`, 0, "token #2 repeats token #1"},
		{"bad resource", `[{"token":"t1","acls":[{"resource":"topics","pattern":"*","ops":["read"]}]}]`, 0, "not topic, group or cluster"},
		{"missing pattern", `[{"token":"t1","acls":[{"resource":"topic","ops":["read"]}]}]`, 0, "pattern"},
		{"inner star", `[{"token":"t1","acls":[{"resource":"topic","pattern":"a*b","ops":["read"]}]}]`, 0, "may only end"},
		{"two stars", `[{"token":"t1","acls":[{"resource":"topic","pattern":"**","ops":["read"]}]}]`, 0, "may only end"},
		{"named cluster", `[{"token":"t1","acls":[{"resource":"cluster","pattern":"c1","ops":["read"]}]}]`, 0, "cluster ACLs"},
		{"no ops", `[{"token":"t1","acls":[{"resource":"topic","pattern":"*","ops":[]}]}]`, 0, "ops"},
		{"bad op", `[{"token":"t1","acls":[{"resource":"topic","pattern":"*","ops":["describe"]}]}]`, 0, `op "describe"`},
		{"wrong type", `[{"token":1}]`, 0, `field "token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTokens([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if got.Len() != tt.tokens {
					t.Fatalf("got %d tokens, want %d", got.Len(), tt.tokens)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidTokens) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q, want ErrInvalidTokens containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestErrorsNeverShowTokens(t *testing.T) {
	for _, in := range []string{
		`[{"token":"sup3r-s3cret","acls":[{"resource":"nope","pattern":"*","ops":["read"]}]}]`,
		`[{"token":"sup3r-s3cret"},{"token":"sup3r-s3cret"}]`,
		`[{"token":"sup3r s3cret"}]`,
		`[{"token":"sup3r-s3cret",`,
		`[{"token":"sup3r-s3cret","acls":{"resource":"topic"}}]`,
	} {
		_, err := ParseTokens([]byte(in))
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseTokens(%s) = %v: want an error that does not show the token", in, err)
		}
	}
}

func TestPatternMatching(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "orders", true},
		{"*", "", true},
		{"*", "__consumer_offsets", true},
		{"orders", "orders", true},
		{"orders", "orders2", false},
		{"orders", "order", false},
		{"orders", "Orders", false},
		{"orders*", "orders", true},
		{"orders*", "orders.eu", true},
		{"orders*", "order", false},
		{"team-a.*", "team-a.billing", true},
		{"team-a.*", "team-b.billing", false},
		{"team-a.*", "team-a", false},
	}
	for _, tt := range tests {
		if got := (ACL{Pattern: tt.pattern}).matches(tt.name); got != tt.want {
			t.Errorf("pattern %q matches %q = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestAllow(t *testing.T) {
	toks, err := ParseTokens([]byte(`[
	 {"token":"admin","acls":[{"resource":"topic","pattern":"*","ops":["read","write","admin"]},
	                          {"resource":"group","pattern":"*","ops":["read"]},
	                          {"resource":"cluster","pattern":"*","ops":["read","admin"]}]},
	 {"token":"reader","acls":[{"resource":"topic","pattern":"orders","ops":["read"]}]},
	 {"token":"team","acls":[{"resource":"topic","pattern":"team.*","ops":["write"]},
	                         {"resource":"group","pattern":"team-*","ops":["read","admin"]}]},
	 {"token":"nothing"}]`))
	if err != nil {
		t.Fatal(err)
	}
	a := New(toks)
	tests := []struct {
		token string
		res   Resource
		name  string
		op    Op
		want  bool
	}{
		{"admin", Topic, "anything", Admin, true},
		{"admin", Group, "g", Read, true},
		{"admin", Group, "g", Admin, true}, // cluster admin stands in
		{"admin", Group, "g", Write, false},
		{"admin", Cluster, "", Read, true},
		{"reader", Topic, "orders", Read, true},
		{"reader", Topic, "orders", Describe, true},
		{"reader", Topic, "orders", Write, false},
		{"reader", Topic, "orders", Admin, false},
		{"reader", Topic, "payments", Read, false},
		{"reader", Topic, "payments", Describe, false},
		{"reader", Group, "g", Read, false},
		{"reader", Cluster, "", Read, false},
		{"team", Topic, "team.x", Write, true},
		{"team", Topic, "team.x", Read, false},
		{"team", Topic, "team.x", Describe, true},
		{"team", Topic, "teamx", Write, false},
		{"team", Group, "team-1", Admin, true},
		{"team", Group, "team1", Read, false},
		{"nothing", Topic, "orders", Describe, false},
		{"nothing", Cluster, "", Read, false},
	}
	for _, tt := range tests {
		p := toks.lookup(tt.token)
		if p == nil {
			t.Fatalf("token %q not found", tt.token)
		}
		err := a.Allow(p, tt.res, tt.name, tt.op)
		if (err == nil) != tt.want {
			t.Errorf("%s: %s %s %q = %v, want allowed=%v", tt.token, tt.op, tt.res, tt.name, err, tt.want)
		}
		if err != nil && !errors.Is(err, ErrForbidden) {
			t.Errorf("%s: error %v is not ErrForbidden", tt.token, err)
		}
	}
	if err := a.Allow(nil, Topic, "orders", Read); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Allow(nil) = %v, want ErrUnauthorized", err)
	}
	if toks.lookup("admi") != nil || toks.lookup("admin ") != nil || toks.lookup("") != nil {
		t.Error("lookup matched a token that is not in the file")
	}
}
