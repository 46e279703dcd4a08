# fjord — the two commands a newcomer needs are `make run` and `make test`.
GO       ?= go
BIN      ?= bin/fjord
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
# Go test flags; CI may add -v.
TESTFLAGS ?= -count=1 -timeout 15m

.PHONY: run build test test-go test-web bench lint fmt openapi clean

## run: start one broker on :8080 with data in ./data
run: build
	./$(BIN) serve

## build: compile the broker into bin/fjord
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/fjord

## test: every test — Go unit, fuzz seeds, integration against real brokers, and the browser tests
test: test-go test-web

test-go:
	$(GO) vet ./...
	$(GO) test $(TESTFLAGS) ./...

test-web:
	@echo "no browser tests yet"

## bench: Go benchmarks (storage, engine, codecs); compare runs with benchstat
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./storage/ ./engine/ ./api/wire/

## lint: formatting and vet
lint:
	@test -z "$$(gofmt -l .)" || (gofmt -l . && echo 'gofmt: files above need formatting' && exit 1)
	$(GO) vet ./...

fmt:
	gofmt -w .

clean:
	rm -rf bin
