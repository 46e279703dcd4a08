package gen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// moduleRoot is the directory holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// TestGeneratedFilesUpToDate regenerates the documents and the client into
// a temporary directory and fails when the committed ones differ: an
// annotation changed without `make openapi`.
func TestGeneratedFilesUpToDate(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH, so swag and oapi-codegen cannot run: " + err.Error())
	}
	root := moduleRoot(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log bytes.Buffer
	start := time.Now()
	if err := Generate(ctx, Options{Root: root, Out: out, Log: &log}); err != nil {
		t.Fatalf("generate: %v\n%s", err, log.Bytes())
	}
	t.Logf("generated in %v", time.Since(start).Round(time.Millisecond))
	for _, f := range Files {
		want, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root, "openapi", f))
		if err != nil {
			t.Errorf("openapi/%s: %v (run `make openapi`)", f, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("openapi/%s is stale: run `make openapi` and commit the result\n%s", f, firstDiff(got, want))
		}
	}
}

// firstDiff shows the first differing line with a little context.
func firstDiff(committed, generated []byte) string {
	a, b := strings.Split(string(committed), "\n"), strings.Split(string(generated), "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		if i < len(a) && i < len(b) && a[i] == b[i] {
			continue
		}
		var s strings.Builder
		for j := max(0, i-3); j < i; j++ {
			fmt.Fprintf(&s, "  %d   %s\n", j+1, a[j])
		}
		if i < len(a) {
			fmt.Fprintf(&s, "  %d - %s (committed)\n", i+1, a[i])
		}
		if i < len(b) {
			fmt.Fprintf(&s, "  %d + %s (generated)\n", i+1, b[i])
		}
		return s.String()
	}
	return ""
}

func TestOperationID(t *testing.T) {
	for _, tc := range []struct{ method, path, want string }{
		{"get", "/topics", "getTopics"},
		{"get", "/topics/{topic}", "getTopicsTopic"},
		{"post", "/groups/{group}/members/{member}/commit", "postGroupsGroupMembersMemberCommit"},
		{"get", "/openapi.json", "getOpenapiJson"},
		{"delete", "/groups/{g}", "deleteGroupsG"},
	} {
		if got := OperationID(tc.method, tc.path); got != tc.want {
			t.Errorf("OperationID(%s, %s) = %s, want %s", tc.method, tc.path, got, tc.want)
		}
	}
}

func TestConventions(t *testing.T) {
	const in = `{"swagger":"2.0","info":{"title":"t","version":"1","contact":{}},
	 "tags":[{"name":"used"},{"name":"unused"}],
	 "paths":{
	  "/healthz":{"get":{"operationId":"getHealth","produces":["application/json"],"tags":["used"],
	     "responses":{"200":{"description":"ok"}}}},
	  "/topics/{topic}":{"delete":{"parameters":[{"name":"topic","in":"path","required":true,"type":"string"}],
	     "responses":{"204":{"description":"deleted"},
	                  "404":{"description":"topic_not_found","schema":{"$ref":"#/definitions/problem.Details"}}}}}},
	 "definitions":{"problem.Details":{"type":"object"}}}`
	out, err := Conventions([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Info  map[string]any              `json:"info"`
		Tags  []map[string]any            `json:"tags"`
		Paths map[string]map[string]opDoc `json:"paths"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Info["contact"]; ok {
		t.Error("empty contact kept")
	}
	if len(doc.Tags) != 1 || doc.Tags[0]["name"] != "used" {
		t.Errorf("tags = %v, want only the used one", doc.Tags)
	}
	health := doc.Paths["/healthz"]["get"]
	if health.Security == nil || len(*health.Security) != 0 {
		t.Errorf("open path security = %v, want []", health.Security)
	}
	for _, code := range []string{"401", "403", "429"} {
		if _, ok := health.Responses[code]; ok {
			t.Errorf("/healthz documents %s", code)
		}
	}
	del := doc.Paths["/topics/{topic}"]["delete"]
	if del.OperationID != "deleteTopicsTopic" {
		t.Errorf("operationId = %q", del.OperationID)
	}
	if del.Security != nil {
		t.Errorf("protected operation overrides security: %v", *del.Security)
	}
	for _, code := range []string{"401", "403", "404", "429"} {
		r, ok := del.Responses[code]
		if !ok || r.Schema["$ref"] != "#/definitions/"+ProblemSchema {
			t.Errorf("response %s = %+v, want a problem", code, r)
		}
	}
	if strings.Join(del.Produces, ",") != "application/json,"+ProblemMediaType {
		t.Errorf("produces = %v", del.Produces)
	}
}

type opDoc struct {
	OperationID string   `json:"operationId"`
	Produces    []string `json:"produces"`
	Security    *[]any   `json:"security"`
	Responses   map[string]struct {
		Schema map[string]any `json:"schema"`
	} `json:"responses"`
}

func TestToOpenAPI3MediaTypes(t *testing.T) {
	const in = `{"swagger":"2.0","info":{"title":"t","version":"1"},
	 "paths":{"/topics/{topic}/records":{"post":{"operationId":"produce",
	   "consumes":["application/json","application/x-ndjson"],
	   "produces":["application/json","application/problem+json"],
	   "parameters":[{"name":"topic","in":"path","required":true,"type":"string"},
	                 {"name":"body","in":"body","required":true,"schema":{"type":"object"}}],
	   "responses":{"200":{"description":"ok","schema":{"type":"object"}},
	                "503":{"description":"not ready","schema":{"type":"object"}},
	                "404":{"description":"topic_not_found","schema":{"$ref":"#/definitions/problem.Details"}}}}}},
	 "definitions":{"problem.Details":{"type":"object"}}}`
	out, err := ToOpenAPI3(context.Background(), []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema map[string]any `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
			Responses map[string]struct {
				Content map[string]any `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	op := doc.Paths["/topics/{topic}/records"]["post"]
	for code, want := range map[string]string{"200": "application/json", "503": "application/json", "404": ProblemMediaType} {
		c := op.Responses[code].Content
		if _, ok := c[want]; !ok || len(c) != 1 {
			t.Errorf("response %s content = %v, want only %s", code, c, want)
		}
	}
	if nd := op.RequestBody.Content[ndjsonMediaType]; nd.Schema["type"] != "string" {
		t.Errorf("ndjson body schema = %v, want a string", nd.Schema)
	}
}
