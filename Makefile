# corpus-audit — the two commands are `make demo` and `make test`.
GO      ?= go
CACHE   ?= $(HOME)/.cache/corpus-audit
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X main.version=$(VERSION)
export CORPUS_AUDIT_CACHE := $(CACHE)

.PHONY: all build demo test test-short vet fuzz bench bench-build bench-test bench-go clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

## demo: generate a small local lake, audit it, and say where the outputs are.
demo: build
	scripts/demo.sh

## test: everything CI runs: vet, the real S3 server, all tests with the race detector.
test:
	scripts/install-s3-server.sh
	scripts/install-pushgateway.sh
	scripts/install-test-deps.sh
	$(GO) vet ./...
	$(GO) test -race -timeout 20m ./...
	cd deploy && $(GO) vet ./... && $(GO) test ./...

## test-short: the unit tests only, no race detector (quick edit-test loop).
test-short:
	$(GO) test -short ./...

## fuzz: run every fuzz target for FUZZTIME each (default 30s).
FUZZTIME ?= 30s
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

## bench: corpus-audit against a DuckDB audit of the same generated lake
## (bench/, a Go module of its own so DuckDB stays out of corpus-audit's).
## The lake (default 20 M rows, 5 M accounts) is generated once and cached in
## bench/cache/; results go to bench/results/latest.json. Sizes are flags:
##   make bench BENCH_FLAGS="-rows 100000000 -accounts 400000000 -runs 3"
BENCH_FLAGS ?=
bench: build bench-build
	bin/corpus-bench $(BENCH_FLAGS)

bench-build:
	cd bench && $(GO) build -o ../bin/corpus-bench .

## bench-test: the bench harness's own tests (bench/ is a separate module:
## `make test` does not run them). They need bin/lakegen, and use
## bin/corpus-audit when it is built.
bench-test: build
	cd bench && $(GO) vet ./... && $(GO) test -timeout 20m ./...

## bench-go: Go micro-benchmarks of the scan, lookup and findings packages.
bench-go: build
	$(GO) test -run '^$$' -bench . -benchmem ./scan ./lookup ./findings

clean:
	rm -rf bin demo

## bench-s3: the audit of one generated lake from local disk and from the
## loopback S3 test server (versitygw; corpus, tables and outputs on S3),
## alternately, BENCH_S3_RUNS runs each: rows/s, MB/s of corpus and the
## S3/local wall-time ratio (target <= 1.5x). The lake is generated once
## into $(CACHE)/bench-s3/. Sizes and logs:
##   make bench-s3 BENCH_S3_ROWS=20000000 BENCH_S3_FILES=20 BENCH_S3_RUNS=5 BENCH_S3_LOG=1
## BENCH_S3_RG sets the rows per row group (0: lakegen's 1,000,000); row
## groups of 4,000,000 have chunks over the 8 MiB S3 read window.
## BENCH_S3_LATENCY (e.g. 30ms) delays every S3 request by that much, a
## stand-in for a remote bucket's time to first byte; BENCH_S3_MBPS (with a
## latency) paces each answer to that many MB/s; BENCH_S3_AHEAD=0 turns off
## the read-ahead of the next row group, for comparison.
.PHONY: bench-s3
BENCH_S3_ROWS  ?= 5000000
BENCH_S3_FILES ?= 10
BENCH_S3_RUNS  ?= 3
BENCH_S3_RG    ?= 0
BENCH_S3_LOG   ?=
BENCH_S3_LATENCY ?= 0
BENCH_S3_MBPS  ?= 0
BENCH_S3_AHEAD ?= 1
bench-s3:
	scripts/install-s3-server.sh
	CORPUS_AUDIT_BENCH_S3=1 CORPUS_AUDIT_BENCH_S3_ROWS=$(BENCH_S3_ROWS) \
	CORPUS_AUDIT_BENCH_S3_FILES=$(BENCH_S3_FILES) CORPUS_AUDIT_BENCH_S3_RUNS=$(BENCH_S3_RUNS) \
	CORPUS_AUDIT_BENCH_S3_RG=$(BENCH_S3_RG) CORPUS_AUDIT_BENCH_S3_LOG=$(BENCH_S3_LOG) \
	CORPUS_AUDIT_BENCH_S3_LATENCY=$(BENCH_S3_LATENCY) CORPUS_AUDIT_BENCH_S3_MBPS=$(BENCH_S3_MBPS) \
	CORPUS_AUDIT_BENCH_S3_AHEAD=$(BENCH_S3_AHEAD) \
		$(GO) test -tags benchs3 -run '^TestBenchS3$$' -count=1 -v -timeout 60m ./jobs
