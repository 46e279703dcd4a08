package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ProblemSchema is the definition name swag gives problem.Details.
const ProblemSchema = "problem.Details"

// ProblemMediaType is the media type of every error answer.
const ProblemMediaType = "application/problem+json"

// OpenPaths stay open when auth is on (the contract's Security section);
// every other operation may answer 401 and 403.
var OpenPaths = map[string]bool{"/healthz": true, "/readyz": true, "/openapi.json": true, "/docs": true}

// unlimitedPaths are exempt from --rate-limit; every other operation may
// answer 429 while it is on.
var unlimitedPaths = map[string]bool{"/healthz": true, "/readyz": true}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch"}

// Conventions applies to swag's Swagger 2.0 the rules every handler shares,
// so no annotation has to repeat them:
//   - an operation documenting a problem.Details answer also produces
//     application/problem+json (the API renders every error that way);
//   - an operation without @ID gets one from its method and path
//     (GET /topics/{topic} -> getTopicsTopic), so generated clients get
//     stable names;
//   - operations outside OpenPaths document 401 unauthorized and 403
//     forbidden (answered when the broker runs with --auth-tokens); those in
//     OpenPaths require no security;
//   - operations outside /healthz and /readyz document 429
//     too_many_requests (answered when the broker runs with --rate-limit);
//   - a parameter's example (swag's example(...)) becomes x-example, the
//     Swagger 2.0 spelling; ToOpenAPI3 turns it back into example;
//   - declared tags that no operation uses are dropped, and so is swag's
//     empty contact.
//
// The result is indented JSON with sorted keys.
func Conventions(swagger []byte) ([]byte, error) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(swagger))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	paths, _ := doc["paths"].(map[string]any)
	used := map[string]bool{}
	for path, item := range paths {
		ops, _ := item.(map[string]any)
		for _, m := range methods {
			op, ok := ops[m].(map[string]any)
			if !ok {
				continue
			}
			if err := operationConventions(path, m, op); err != nil {
				return nil, fmt.Errorf("%s %s: %w", strings.ToUpper(m), path, err)
			}
			tags, _ := op["tags"].([]any)
			for _, t := range tags {
				used[fmt.Sprint(t)] = true
			}
		}
	}
	if info, _ := doc["info"].(map[string]any); info != nil {
		if c, _ := info["contact"].(map[string]any); c != nil && len(c) == 0 {
			delete(info, "contact") // swag writes an empty one
		}
	}
	if tags, ok := doc["tags"].([]any); ok {
		kept := []any{}
		for _, t := range tags {
			if tm, _ := t.(map[string]any); tm != nil && used[fmt.Sprint(tm["name"])] {
				kept = append(kept, t)
			}
		}
		doc["tags"] = kept
	}
	return marshal(doc)
}

func operationConventions(path, method string, op map[string]any) error {
	if id, _ := op["operationId"].(string); id == "" {
		op["operationId"] = OperationID(method, path)
	}
	params, _ := op["parameters"].([]any)
	for _, p := range params {
		if pm, _ := p.(map[string]any); pm != nil && pm["in"] != "body" && pm["example"] != nil {
			pm["x-example"] = pm["example"] // Swagger 2.0 has no example outside schemas
			delete(pm, "example")
		}
	}
	responses, _ := op["responses"].(map[string]any)
	if responses == nil {
		return fmt.Errorf("no responses documented")
	}
	if OpenPaths[path] {
		op["security"] = []any{}
	} else {
		addProblem(responses, "401", "unauthorized: auth is on (--auth-tokens) and the token is missing or unknown")
		addProblem(responses, "403", "forbidden: the token lacks the right for this resource")
	}
	if !unlimitedPaths[path] {
		addProblem(responses, "429", "too_many_requests: --rate-limit is on and this client is above it")
	}
	problem := false
	for _, r := range responses {
		if isProblem(r) {
			problem = true
		}
	}
	produces := stringList(op["produces"])
	if len(produces) == 0 {
		produces = []string{"application/json"}
	}
	if problem && !contains(produces, ProblemMediaType) {
		produces = append(produces, ProblemMediaType)
	}
	list := make([]any, len(produces))
	for i, p := range produces {
		list[i] = p
	}
	op["produces"] = list
	return nil
}

// OperationID names an operation from its method and path:
// "get", "/groups/{group}/lag" -> "getGroupsGroupLag".
func OperationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.FieldsFunc(path, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func addProblem(responses map[string]any, code, description string) {
	if _, ok := responses[code]; ok {
		return
	}
	responses[code] = map[string]any{"description": description,
		"schema": map[string]any{"$ref": "#/definitions/" + ProblemSchema}}
}

func isProblem(r any) bool {
	rm, _ := r.(map[string]any)
	schema, _ := rm["schema"].(map[string]any)
	return schema["$ref"] == "#/definitions/"+ProblemSchema
}

func stringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, s := range l {
		out = append(out, fmt.Sprint(s))
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// marshal writes indented JSON with sorted keys and no HTML escaping.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// statusCode parses a response key; "default" and unparsable keys are 0.
func statusCode(key string) int {
	n, _ := strconv.Atoi(key)
	return n
}
