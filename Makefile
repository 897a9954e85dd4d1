# corpus-audit — the two commands are `make demo` and `make test`.
GO      ?= go
CACHE   ?= $(HOME)/.cache/corpus-audit
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X main.version=$(VERSION)
export CORPUS_AUDIT_CACHE := $(CACHE)

.PHONY: all build demo test test-short vet fuzz bench clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

## demo: generate a small local lake, audit it, and say where the outputs are.
demo: build
	scripts/demo.sh

## test: everything CI runs: vet, the real S3 server, all tests with the race detector.
test:
	scripts/install-s3-server.sh
	scripts/install-test-deps.sh
	$(GO) vet ./...
	$(GO) test -race -timeout 20m ./...

## test-short: the unit tests only, no race detector (quick edit-test loop).
test-short:
	$(GO) test -short ./...

## fuzz: run every fuzz target for FUZZTIME each (default 30s).
FUZZTIME ?= 30s
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

## bench: benchmarks (see README, Performance).
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./scan ./lookup ./findings

clean:
	rm -rf bin demo
