// Package openapi serves fjord's OpenAPI document and Swagger UI, and holds
// the pipeline that generates them from the handlers' annotations.
//
// Routes (Mount adds them; they stay open when auth is on):
//
//	GET /openapi.json   the OpenAPI 3.0 document of the whole contract (openapi.json)
//	GET /docs           redirects to /docs/index.html: Swagger UI over /openapi.json
//	GET /docs/*         Swagger UI's assets, embedded in the binary (no CDN)
//
// The document names no host or server, so Swagger UI's "try it out" and
// generated clients call the broker that served it.
//
// The files here are generated, never edited by hand: swagger.json (Swagger
// 2.0, for 2.0 tooling), openapi.json (served) and client/client.gen.go. The
// source of truth is the swag v1 annotations (// @Summary, @Param, @Success,
// @Failure, @Router, ...) on the handlers in package api and on the doc-only
// functions of this package (routes.go: /ws and /metrics, whose handlers
// cannot carry them), plus the general API information below. Every error
// answer is documented as problem.Details with its API codes first in the
// description ("topic_not_found"). `make openapi` runs the pipeline in
// openapi/internal/gen:
//
//  1. swag (go run github.com/swaggo/swag/cmd/swag@v1.16.6 init, pinned) reads
//     every package of the module and writes Swagger 2.0;
//  2. gen applies the conventions every handler shares: error answers are
//     application/problem+json, operations without @ID get one from their
//     method and path, 401/403 (auth) and 429 (rate limit) are documented
//     where they apply;
//  3. kin-openapi converts it to OpenAPI 3.0, with each response's media type
//     set from its status, and validates the result;
//  4. oapi-codegen (go run, pinned) generates the Go client in openapi/client.
//
// Tests regenerate everything into a temporary directory and fail when the
// committed files differ (internal/gen), validate the document and the UI
// (openapi_test.go), drive a real broker through the generated client
// (client/client_test.go), and call every documented operation, checking
// each answer's status and body against the document (contract_test.go).
//
// General API information for swag:
//
//	@title                      fjord
//	@version                    1.0
//	@description                fjord is a Kafka-style event-streaming broker spoken over HTTP/JSON and WebSocket.
//	@description                Errors are RFC 9457 problem details (application/problem+json) with a stable
//	@description                machine-readable `code`. Times are Unix epoch milliseconds. Every broker serves every
//	@description                endpoint: topic changes go to the controller, produce and reads to the partition's
//	@description                leader, group requests to the group's coordinator (the leader of its __consumer_offsets
//	@description                partition), each in one broker-to-broker hop. X-Fjord-Broker names the broker that
//	@description                served a read (the leader, or this broker for replica=local) and otherwise the broker
//	@description                that answered. Followers copy the leader's log by pull; acks=all answers once every
//	@description                in-sync replica has the records, with not_enough_replicas when the ISR is below the
//	@description                topic's min.insync.replicas ("appended": true when the leader had stored them first).
//	@license.name               Apache-2.0
//	@license.url                https://www.apache.org/licenses/LICENSE-2.0
//	@tag.name                   cluster
//	@tag.description            Health, readiness, cluster metadata and metrics.
//	@tag.name                   topics
//	@tag.description            Create, describe, change and delete topics.
//	@tag.name                   records
//	@tag.description            Produce records; read partitions by offset (stateless long poll); offsets.
//	@tag.name                   groups
//	@tag.description            Consumer groups: members with server-side assignment, fetch, commit, seek.
//	@tag.name                   lag
//	@tag.description            Consumer lag with Burrow-style status evaluation.
//	@tag.name                   websocket
//	@tag.description            The WebSocket endpoint: subscriptions and produce over one socket.
//	@tag.name                   docs
//	@tag.description            This document and Swagger UI.
//	@security                   BearerAuth
//	@securityDefinitions.apikey BearerAuth
//	@in                         header
//	@name                       Authorization
//	@description                Only when the broker runs with --auth-tokens: "Bearer <token>".
package openapi
