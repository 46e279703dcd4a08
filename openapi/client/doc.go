// Package client is a Go client for fjord's REST API, generated from the
// OpenAPI document (openapi/openapi.json) by oapi-codegen; client.gen.go is
// never edited by hand. Regenerate it with the document: `make openapi`.
//
// Operations are named by the document's operation ids:
//
//	c, err := client.NewClientWithResponses("http://127.0.0.1:8080")
//	created, err := c.CreateTopicWithResponse(ctx, client.CreateTopicJSONRequestBody{Name: "orders"})
//	// created.JSON201 is the description; problem answers land in
//	// created.ApplicationproblemJSON409 and friends.
//
// For another language, point any OpenAPI 3 generator at GET /openapi.json.
// The WebSocket endpoint (GET /ws) is left out: use a WebSocket library.
package client
