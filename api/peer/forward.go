package peer

import (
	"crypto/subtle"
	"net/http"
)

// SetForwarded marks a request this broker sends to another as forwarded
// by broker self, with the cluster secret.
func SetForwarded(r *http.Request, self int32, secret string) { setPeerHeaders(r.Header, self, secret) }

// ProblemError turns another broker's error answer into the engine error
// its problem code names, as the client's calls do.
func ProblemError(status int, body []byte) error { return answerError("coordinator", status, body, -1) }

// RequireSecret serves h only to requests carrying the cluster secret (any
// request when secret is empty); others get 401.
func RequireSecret(secret string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if secret != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get(HeaderSecret)), []byte(secret)) != 1 {
			writeProblem(w, errBadSecret)
			return
		}
		h.ServeHTTP(w, r)
	})
}
