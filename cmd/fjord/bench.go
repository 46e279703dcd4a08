package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/fjord-streaming/fjord/internal/bench"
)

func init() { subcommands["bench"] = runBench }

// runBench runs the load tool (internal/bench). Ctrl-C ends a run early and
// still prints its summary.
func runBench(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return bench.Main(ctx, args, os.Stdout, os.Stderr)
}
