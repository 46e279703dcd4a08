# fjord — the two commands a newcomer needs are `make run` and `make test`.
GO       ?= go
BIN      ?= bin/fjord
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
# Go test flags; CI may add -v.
TESTFLAGS ?= -count=1 -timeout 15m

.PHONY: perf run build test test-go test-web web-vendor web-screenshots bench lint fmt openapi client clean

## run: start one broker on :8080 with data in ./data
run: build
	./$(BIN) serve

## cluster: start three local brokers (ids 1-3, HTTP 127.0.0.1:8081-8083, gossip 7947-7949, data in ./data/cluster/N); Ctrl-C stops them
.PHONY: cluster
cluster: build
	bash scripts/cluster.sh

## build: compile the broker into bin/fjord
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/fjord

## test: every test — Go unit, fuzz seeds, integration against real brokers, and the browser tests
test: test-go test-web

test-go:
	$(GO) vet ./...
	$(GO) test $(TESTFLAGS) ./...

## fault-long: the replication fault test (internal/clustertest TestFault) with 100 kill -9 cycles instead of
## make test's 10, plus its SIGSTOP and wiped-disk faults (about 12 minutes on 2 cores)
.PHONY: fault-long
fault-long:
	FJORD_FAULT_CYCLES=100 $(GO) test -count=1 -v -run '^TestFault$$' -timeout 60m ./internal/clustertest/

## bench-replication: RF=3 vs RF=1 acks=all produce and a follower's catch-up of a 10M-record backlog,
## on three brokers it starts on 127.0.0.1 (fjord bench replication; ARGS='--duration 20s --rounds 3' adjusts it)
.PHONY: bench-replication bench-failover
bench-replication: build
	bin/fjord bench replication $(ARGS)

## bench-failover: 20 kills -9 of a partition leader to the first acks=all write accepted again, min/p50/max,
## on three brokers it starts on 127.0.0.1 (fjord bench failover; ARGS='--runs 50' adjusts it)
bench-failover: build
	bin/fjord bench failover $(ARGS)

## test-web: the console's end-to-end tests in headless Chromium (installs Chromium and playwright-core if missing)
test-web:
	bash web/e2e/setup.sh
	cd web/e2e && node --test

## web-vendor: refetch the console's browser libraries (uPlot) from the npm registry into web/static/vendor
web-vendor:
	bash web/vendor.sh

## web-screenshots: retake the console screenshots in docs/ (console-*.png) against a fresh broker
web-screenshots:
	bash web/e2e/setup.sh
	cd web/e2e && node docs-screenshots.mjs

## bench: Go benchmarks (storage, engine, codecs, bench baselines); compare runs with benchstat.
## BenchmarkGrowingLog fills up to 40M records (4.5 GB): run it by name, e.g.
## make bench BENCH='GrowingLog/records=10M' SKIP= BENCHTIME=1x
BENCH     ?= .
SKIP      ?= GrowingLog
BENCHTIME ?= 2s
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -skip '$(SKIP)' -benchmem -benchtime $(BENCHTIME) ./storage/ ./engine/ ./api/wire/ ./internal/bench/

## openapi: regenerate openapi/swagger.json, openapi/openapi.json and the Go client openapi/client from the
## swag annotations (swag and oapi-codegen run pinned through `go run`; nothing to preinstall)
openapi:
	$(GO) run ./openapi/internal/openapigen

## client: generate the Go client (openapi/client/client.gen.go) with the documents; same as openapi
client: openapi

## perf: measure every target of docs/performance.md on this machine (about 15 minutes)
perf: build
	bash internal/bench/targets.sh

## lint: formatting and vet
lint:
	@test -z "$$(gofmt -l .)" || (gofmt -l . && echo 'gofmt: files above need formatting' && exit 1)
	$(GO) vet ./...

fmt:
	gofmt -w .

clean:
	rm -rf bin
