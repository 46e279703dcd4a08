package auth

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseTokens checks ParseTokens against its promises on any input: it
// never panics; a parsed file authenticates each of its tokens as the right
// principal and nothing else; and an error never shows a token.
func FuzzParseTokens(f *testing.F) {
	f.Add([]byte(apiExample))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"token":"t1","acls":[{"resource":"group","pattern":"team-*","ops":["read","admin"]}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		toks, err := ParseTokens(data)
		// A loose reading of the same input: the tokens a user meant.
		var loose []struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal(data, &loose)
		if err != nil {
			for _, l := range loose {
				if len(l.Token) >= 6 && strings.Count(string(data), l.Token) == 1 && strings.Contains(err.Error(), l.Token) {
					t.Fatalf("error %q shows token %q", err, l.Token)
				}
			}
			return
		}
		if toks.Len() != len(loose) {
			t.Fatalf("parsed %d tokens, a loose reading finds %d", toks.Len(), len(loose))
		}
		for i, l := range loose {
			p := toks.lookup(l.Token)
			if p == nil || p.index != i+1 {
				t.Fatalf("token #%d does not authenticate as itself (got %v)", i+1, p)
			}
			if toks.lookup(l.Token+"x") != nil {
				t.Fatalf("token #%d with a byte added authenticates", i+1)
			}
			for _, a := range p.acls {
				if a.Pattern == "" || strings.Contains(strings.TrimSuffix(a.Pattern, "*"), "*") || len(a.Ops) == 0 {
					t.Fatalf("token #%d holds an ACL ParseTokens should have refused: %+v", i+1, a)
				}
			}
		}
	})
}
