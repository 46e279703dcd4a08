// Package auth enforces fjord's bearer-token access control (API.md,
// "Security"). It owns three things and nothing else:
//
//   - the token file: a JSON list of tokens, each with ACLs on topics, groups
//     and the cluster (ParseTokens), re-read atomically on Reload — a broken
//     file keeps the previous tokens;
//   - the decision: Authorizer.Allow(principal, resource, name, op), the one
//     function every transport asks (REST through Middleware, the WebSocket
//     package through its authorizer seam);
//   - the route table (routes.go): every echo route, by method and route path,
//     mapped to the resource, the name (a path parameter or a body field) and
//     the operation it needs. Middleware looks requests up there; a route
//     missing from the table is refused to all but cluster admins, and
//     Unmapped lists such routes so a test fails when one slips in.
//
// Decisions where the contract is silent:
//
//   - A pattern is "*", an exact name, or a prefix ending in "*"; "*" also
//     covers internal topics such as __consumer_offsets. Cluster ACLs take
//     the pattern "*" only.
//   - Ops do not imply each other, except that cluster admin acts as admin on
//     every topic and group (as Kafka's Cluster:Create authorizes every
//     CreateTopics), and that any op on a topic or group lets the token see
//     it: describe it, list it, read its partition offsets or its lag.
//   - Group read covers joining, fetching, committing, seeking, heartbeats and
//     leaving; joining also needs topic read on every subscribed topic (the
//     check happens at join). Resetting a group's offsets and deleting a group
//     need group admin.
//   - GET /topics, GET /groups and GET /lag are open to every valid token and
//     list only what the token can see.
//   - Producing needs topic write, also when the produce auto-creates the topic.
//   - ?token= is accepted on the WebSocket route only (browsers cannot set
//     headers on a WebSocket handshake); everywhere else the token travels in
//     the Authorization header, which proxies do not log.
//
// Tokens are stored as SHA-256 digests and compared in constant time against
// every known digest; neither tokens nor digests are ever logged. A principal
// is named in logs by its position in the file ("token #2").
package auth
