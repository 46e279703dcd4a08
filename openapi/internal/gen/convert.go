package gen

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

// ndjsonMediaType is the line-per-record produce body.
const ndjsonMediaType = "application/x-ndjson"

// ToOpenAPI3 converts Swagger 2.0 (after Conventions) to OpenAPI 3.0 with
// kin-openapi, and validates the result. Swagger 2.0 gives one list of
// media types per operation; OpenAPI 3 gives one per response, so each
// response keeps only its own: application/problem+json for problem.Details
// answers, the others for the rest. An application/x-ndjson request body is
// described as text (one record object per line), not as the JSON wrapper.
func ToOpenAPI3(ctx context.Context, swagger []byte) ([]byte, error) {
	var doc2 openapi2.T
	if err := json.Unmarshal(swagger, &doc2); err != nil {
		return nil, err
	}
	doc3, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		return nil, err
	}
	problemRef := "#/components/schemas/" + ProblemSchema
	for path, item := range doc3.Paths.Map() {
		for method, op := range item.Operations() {
			for _, pr := range op.Parameters {
				if p := pr.Value; p != nil && p.Extensions["x-example"] != nil {
					p.Example = p.Extensions["x-example"]
					delete(p.Extensions, "x-example")
				}
			}
			if op.Responses == nil {
				return nil, fmt.Errorf("%s %s: no responses", method, path)
			}
			for code, rr := range op.Responses.Map() {
				splitMediaTypes(statusCode(code), rr.Value, problemRef)
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				describeNDJSON(op.RequestBody.Value)
			}
		}
	}
	if err := doc3.Validate(ctx); err != nil {
		return nil, fmt.Errorf("invalid document: %w", err)
	}
	out, err := json.Marshal(doc3)
	if err != nil {
		return nil, err
	}
	// Re-encode through a generic value for sorted, indented output.
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, err
	}
	return marshal(v)
}

// splitMediaTypes keeps problem+json on problem answers and only there.
func splitMediaTypes(status int, r *openapi3.Response, problemRef string) {
	if r == nil || len(r.Content) < 2 || r.Content[ProblemMediaType] == nil {
		return
	}
	mt := r.Content[ProblemMediaType]
	if status >= 400 && mt.Schema != nil && mt.Schema.Ref == problemRef {
		r.Content = openapi3.Content{ProblemMediaType: mt}
		return
	}
	delete(r.Content, ProblemMediaType)
}

func describeNDJSON(b *openapi3.RequestBody) {
	if mt := b.Content[ndjsonMediaType]; mt != nil {
		mt.Schema = openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString},
			Description: "Newline-delimited JSON: each line is one record object, as in the records array of the application/json body."})
	}
}
