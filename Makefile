# minbil-bff — see README.md. Every target works on a fresh machine with Go.
GO        ?= go
BIN       := bin/minbil-bff
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
IMAGE     ?= ghcr.io/minbil/minbil-bff
# benchstat, pinned, fetched by go run from the module proxy.
BENCHSTAT := golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
BENCHPKGS := ./gateway/ ./gateway/auth/ ./gateway/upstream/ ./contracts/ ./mock/
BENCHCOUNT ?= 6
# make load LOADFLAGS='-rounds 7 -duration 5s -publish'
LOADFLAGS ?=

.PHONY: run mock build docker healthcheck test test-go vet fmt-check clean bench load

## run: the gateway on :5000 in front of the built-in mock
run:
	$(GO) run ./cmd/minbil-bff serve --addr :5000

## mock: the standalone mock on 127.0.0.1:5050
mock:
	$(GO) run ./cmd/minbil-bff mock --addr 127.0.0.1:5050

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/minbil-bff

## docker: the image $(IMAGE):$(VERSION) (needs a Docker engine)
docker:
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE):$(VERSION) .

## healthcheck: the container health check against a local gateway (make run)
healthcheck:
	$(GO) run ./cmd/minbil-bff healthcheck --url http://127.0.0.1:5000/readyz

## bench: micro-benchmarks of the hot paths with -benchmem into out/bench/new.txt,
## compared with benchstat against the previous run (out/bench/old.txt) when there is one
bench:
	@mkdir -p out/bench
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) $(BENCHPKGS) | tee out/bench/new.txt
	@if [ -f out/bench/old.txt ]; then $(GO) run $(BENCHSTAT) out/bench/old.txt out/bench/new.txt; fi
	@cp out/bench/new.txt out/bench/old.txt

## load: real processes pinned with taskset and driven by wrk (installs wrk, nginx, Prism
## when missing); prints the table, writes out/perf/latest.{md,svg,json}. Not part of test.
load:
	$(GO) run ./gateway/perf/load $(LOADFLAGS)

## test: everything CI checks (formatting, vet, unit, integration, fuzz seed corpora, with -race)
test: fmt-check vet test-go

test-go:
	$(GO) test -race -count=1 -timeout 10m ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## soak: a few minutes of mixed traffic; fails if RSS, goroutines or open files trend upward (not in CI)
SOAK ?= 3m
soak:
	MINBIL_SOAK=$(SOAK) $(GO) test -count=1 -run TestSoak -v -timeout 60m ./gateway/

clean:
	rm -rf bin out
