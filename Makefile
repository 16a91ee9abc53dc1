# minbil-bff — see README.md. Every target works on a fresh machine with Go.
GO        ?= go
BIN       := bin/minbil-bff
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
IMAGE     ?= ghcr.io/minbil/minbil-bff

.PHONY: run mock build docker healthcheck test test-go vet fmt-check clean

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
