package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// readmeBlock returns the first ```sh block after the heading in README.md.
func readmeBlock(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, heading)
	if i < 0 {
		t.Fatalf("README.md has no heading %q", heading)
	}
	s = s[i:]
	start := strings.Index(s, "```sh\n")
	end := strings.Index(s[start+6:], "```")
	if start < 0 || end < 0 {
		t.Fatalf("no sh block under %q", heading)
	}
	return s[start+6 : start+6+end]
}

// TestReadmeWalkthrough runs the README's curl walkthrough verbatim against a
// real broker (only the address is changed) and checks what it prints.
func TestReadmeWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	b := brokertest.Start(t)
	script := strings.ReplaceAll(readmeBlock(t, "## Walkthrough with curl"), "localhost:8080", b.Addr)
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("walkthrough failed: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		`"name":"orders"`,
		`{"offsets":[{"partition":1,"offset":0,`,
		`"value":{"amount": 1.0e2}`,
		`"key_base64":"AAE=","value_base64":"aGVsbG8="`,
		`"value":"wake up"`,
		`"offset_for_timestamp":0`,
		"204\n",
		`"code":"topic_not_found"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("walkthrough output lacks %s\n%s", want, got)
		}
	}
	codes := regexp.MustCompile(`"code":"([a-z_]+)"`).FindAllStringSubmatch(got, -1)
	for _, c := range codes {
		if c[1] != "topic_not_found" {
			t.Errorf("walkthrough hit an unexpected error %s\n%s", c[1], got)
		}
	}
}

// TestReadmeBench runs the README's `fjord bench` commands against a real
// broker, with one-second durations, and checks that each measured records
// without a failed request (bench exits non-zero on any failure).
func TestReadmeBench(t *testing.T) {
	b := brokertest.Start(t)
	script := readmeBlock(t, "## Performance")
	script = strings.NewReplacer("http://localhost:8080", "http://"+b.Addr, "bin/fjord", brokertest.Binary(t), "--duration 20s", "--duration 1s").Replace(script)
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench commands failed: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	if n := strings.Count(out.String(), "records/s"); n < 4 {
		t.Fatalf("%d of 4 summaries report records/s:\n%s", n, out.String())
	}
}
