// Command fjord is the fjord broker: `fjord` or `fjord serve` starts one
// broker; `fjord bench` measures a running one.
package main

import (
	"fmt"
	"os"
)

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(args)
	case "version":
		fmt.Println("fjord", version)
	case "help":
		fmt.Println("usage: fjord [serve] [flags] | fjord bench ... | fjord version\nfjord serve -h lists the flags.")
	default:
		if run, ok := subcommands[cmd]; ok {
			err = run(args)
		} else {
			err = fmt.Errorf("unknown command %q (try: serve, bench, version)", cmd)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fjord:", err)
		os.Exit(1)
	}
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// subcommands are registered by other files of this command (bench).
var subcommands = map[string]func(args []string) error{}
