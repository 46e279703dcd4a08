// Command openapigen regenerates openapi/swagger.json, openapi/openapi.json
// and the Go client openapi/client/client.gen.go from the swag annotations
// (see package gen). Run it from the module root: `make openapi`, or
// `go run ./openapi/internal/openapigen`. It prints the commands it runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/fjord-streaming/fjord/openapi/internal/gen"
)

func main() {
	out := flag.String("out", "openapi", "directory receiving the generated files")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := gen.Generate(ctx, gen.Options{Root: ".", Out: *out, Log: os.Stderr}); err != nil {
		fmt.Fprintln(os.Stderr, "openapigen:", err)
		os.Exit(1)
	}
	for _, f := range gen.Files {
		fmt.Println("wrote", filepath.Join(*out, f))
	}
}
