package main

import (
	"flag"
	"fmt"
	"net/http"
	"time"
)

func init() { subcommands["healthcheck"] = healthcheck }

// healthcheck exits 0 when the broker's /healthz answers 200; container
// images without curl use it for HEALTHCHECK.
func healthcheck(args []string) error {
	fs := flag.NewFlagSet("fjord healthcheck", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080/healthz", "health endpoint to probe")
	timeout := fs.Duration("timeout", 3*time.Second, "request timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := &http.Client{Timeout: *timeout}
	resp, err := c.Get(*url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", *url, resp.StatusCode)
	}
	return nil
}
