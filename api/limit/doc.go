// Package limit protects the broker's HTTP server from clients that ask for
// too much or send too slowly. It owns per-request limits only; the server
// timeouts (slowloris) and the connection cap are set where the server is
// built (cmd/fjord), and authentication is package auth's.
//
//   - RateLimiter: a token bucket per client (per token when the request
//     carries a known one, else per remote IP, IPv6 by /64). Beyond it the
//     answer is 429 too_many_requests with Retry-After (whole seconds). Idle
//     buckets are dropped once they would be full again, so forgetting them
//     changes nothing. The remote address is the TCP peer's: forwarding
//     headers are not trusted.
//   - LongPolls: a cap on concurrent long polls (GET …/records with a
//     non-zero timeout_ms, member fetches included). A long poll beyond the
//     cap is not refused: it is answered at once with what there is, exactly
//     as if it had asked for timeout_ms=0, so consumers keep working and only
//     lose the wait.
//   - BodyDeadline: a request body must arrive whole within a deadline, so
//     slow uploads cannot hold a connection and a handler forever; a body cut
//     off by it is 408 request_timeout and the connection is closed. The
//     deadline ends when the body has been read, so a produce waiting for
//     acknowledgements afterwards is not affected, and GET long polls have no
//     body at all.
package limit
