# minbil-bff — see README.md. make run and make test-go need only Go; make test needs more (README: "Requirements").
GO        ?= go
BIN       := bin/minbil-bff
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
IMAGE     ?= ghcr.io/minbil/minbil-bff
# benchstat, pinned, fetched by go run from the module proxy.
BENCHSTAT := golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
# staticcheck and deadcode, pinned, fetched by go run from the module proxy.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEADCODE    := golang.org/x/tools/cmd/deadcode@v0.52.0
BENCHPKGS := ./gateway/ ./gateway/auth/ ./gateway/upstream/ ./contracts/ ./mock/
BENCHCOUNT ?= 6
# make load LOADFLAGS='-rounds 7 -duration 5s -publish'
LOADFLAGS ?=

.PHONY: run mock build docker healthcheck test test-go vet fmt-check clean node-deps \
	lint-go types check-types lint-contract test-snippets test-browser test-oidc portal-assets check-portal-assets bench load

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
## when missing); prints the table, writes out/perf/latest.{md,svg,json} (-publish: also
## cmd/minbil-bff-load/results/). The harness is cmd/minbil-bff-load. Not part of test.
load:
	$(GO) run ./cmd/minbil-bff-load $(LOADFLAGS)

## test: everything CI checks (formatting, vet, unit, integration, fuzz seed corpora, with -race);
## needs Node.js 20, npm, Chromium, redis-server and a C compiler (for -race) besides Go
test: fmt-check vet lint-go node-deps test-go check-types lint-contract check-portal-assets test-snippets test-browser test-oidc
# Under make test, test-go refuses to skip (node-deps first installs Prism):
# the one complete command fails on a missing tool instead.
test: TEST_GO_COMPLETE := 1

# -race needs cgo, which go turns off when it finds no C compiler.
RACE = $(if $(filter 1,$(shell $(GO) env CGO_ENABLED 2>/dev/null)),-race)
PRISM = $(PORTAL_WEB)/node_modules/.bin/prism

## test-go: the Go tests alone, for a machine with Go only: what needs more is named and skipped
test-go:
	@missing=; \
	if [ -z "$(RACE)" ]; then missing=1; echo "test-go: no C compiler (go env CGO_ENABLED is 0): running without -race"; fi; \
	if ! command -v redis-server >/dev/null; then missing=1; echo "test-go: redis-server not found: the Redis tests skip (apt-get install redis-server)"; fi; \
	if ! command -v node >/dev/null || [ ! -e $(PRISM) ]; then missing=1; echo "test-go: Prism not installed: the tests against an upstream we did not write skip (Node.js 20, then npm ci in $(PORTAL_WEB))"; fi; \
	if [ -n "$$missing" ] && [ -n "$(TEST_GO_COMPLETE)" ]; then echo "make test runs every test: install what is missing (.ci/run does), or run make test-go"; exit 1; fi
	$(GO) test $(RACE) -count=1 -timeout 10m ./...

vet:
	$(GO) vet ./...

## lint-go: staticcheck reports nothing, and deadcode (without -test) reports no function
## except in test-support packages (named *test, as net/http/httptest) and test seams
## whose doc comment says "test seam" and why
lint-go:
	$(GO) run $(STATICCHECK) ./...
	@out=$$($(GO) run $(DEADCODE) ./...) || exit 1; \
	left=$$(echo "$$out" | awk -F: '$$1 ~ /test\/[^\/]+\.go$$/ { next } NF > 1 { \
		block = ""; i = 0; \
		while ((getline l < $$1) > 0 && ++i < $$2) { if (l ~ /^[ \t]*\/\//) block = block l; else block = "" } \
		close($$1); if (block !~ /test seam/) print }'); \
	if [ -n "$$left" ]; then echo "unreachable outside tests (remove it, or say in its doc comment why it is a test seam):"; echo "$$left"; exit 1; fi
	@echo "ok  staticcheck and deadcode clean"

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The developer portal (contracts/portal): its pinned npm tools live in
# contracts/portal/_web (package-lock.json); npm ci installs them when the
# lock file changes. Needs Node.js 20 and npm.
PORTAL_WEB   := contracts/portal/_web
NODE_DEPS    := $(PORTAL_WEB)/node_modules/.package-lock.json
OPENAPI_TS   := $(PORTAL_WEB)/node_modules/.bin/openapi-typescript
TYPES        := contracts/minbil-ratings.d.ts
SCALAR       := $(PORTAL_WEB)/node_modules/@scalar/api-reference
SCALAR_VENDOR := contracts/portal/assets/vendor/scalar

node-deps: $(NODE_DEPS)

$(NODE_DEPS): $(PORTAL_WEB)/package-lock.json
	@command -v npm >/dev/null || { echo "the portal checks need Node.js 20 and npm (https://nodejs.org)"; exit 1; }
	cd $(PORTAL_WEB) && npm ci --no-audit --no-fund

## types: regenerate the TypeScript types of the contract (contracts/minbil-ratings.d.ts)
types: $(NODE_DEPS)
	$(OPENAPI_TS) contracts/openapi.yaml -o $(TYPES)

## check-types: fail when contracts/minbil-ratings.d.ts is stale; compile docs/portal.md's example against it
check-types: $(NODE_DEPS)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(OPENAPI_TS) contracts/openapi.yaml -o "$$tmp/types.d.ts" >/dev/null && \
	if ! diff -u $(TYPES) "$$tmp/types.d.ts"; then echo "$(TYPES) is stale: run make types and commit it"; exit 1; fi
	$(PORTAL_WEB)/node_modules/.bin/tsc --noEmit --strict --target es2022 --module esnext \
		--moduleResolution bundler --lib es2022,dom $(PORTAL_WEB)/types-example.ts
	@echo "ok  $(TYPES) is up to date and docs/portal.md's example compiles"

## lint-contract: contracts/openapi.yaml lints clean with Spectral (spectral:oas) and
## Redocly (recommended), both pinned in contracts/portal/_web; rules turned off, with
## the reason, in contracts/lint/. Warnings fail too.
lint-contract: $(NODE_DEPS)
	$(PORTAL_WEB)/node_modules/.bin/spectral lint --fail-severity=warn \
		-r contracts/lint/.spectral.yaml contracts/openapi.yaml
	@out=$$($(PORTAL_WEB)/node_modules/.bin/redocly lint --config contracts/lint/redocly.yaml \
		--format=summary contracts/openapi.yaml 2>&1) || { echo "$$out"; exit 1; }; \
	if echo "$$out" | grep -Eq '^(warning|error) '; then echo "$$out"; exit 1; fi
	@echo "ok  contracts/openapi.yaml lints clean (Spectral spectral:oas, Redocly recommended)"

## portal-assets: re-vendor the Scalar bundle pinned in contracts/portal/_web and rewrite its checksums
portal-assets: $(NODE_DEPS)
	cp $(SCALAR)/dist/browser/standalone.js $(SCALAR_VENDOR)/standalone.js
	# The package ships no licence file; the monorepo's MIT text is in every sibling package.
	cp $(PORTAL_WEB)/node_modules/@scalar/api-client/LICENSE $(SCALAR_VENDOR)/LICENSE
	node -p 'require("./$(SCALAR)/package.json").version' > $(SCALAR_VENDOR)/VERSION
	cd contracts/portal && sha256sum assets/vendor/scalar/* > vendor.sha256

## check-portal-assets: the embedded renderer is byte for byte the npm package the lock file pins
check-portal-assets: $(NODE_DEPS)
	@cmp $(SCALAR)/dist/browser/standalone.js $(SCALAR_VENDOR)/standalone.js || \
		{ echo "$(SCALAR_VENDOR)/standalone.js is not the pinned npm package's: run make portal-assets"; exit 1; }
	@cd contracts/portal && sha256sum --quiet -c vendor.sha256
	@echo "ok  the embedded renderer is @scalar/api-reference $$(cat $(SCALAR_VENDOR)/VERSION) as pinned, checksums match"

## test-snippets: run every snippet the /docs page shows against the mock and the gateway
test-snippets: $(NODE_DEPS)
	node $(PORTAL_WEB)/test/snippets.mjs

## test-browser: /docs in headless Chromium (Debian's chromium); screenshots in out/portal
test-browser: $(NODE_DEPS)
	node $(PORTAL_WEB)/test/browser.mjs

## test-oidc: oidc-client-ts signs in against `serve` with MINBIL_AUTH_MODE=local-idp (PKCE, refresh),
## in Node and, when Debian's chromium is installed, in a browser app on another origin
test-oidc: $(NODE_DEPS)
	node $(PORTAL_WEB)/test/oidc.mjs

## soak: a few minutes of mixed traffic; fails if RSS, goroutines or open files trend upward (not in CI)
SOAK ?= 3m
soak:
	MINBIL_SOAK=$(SOAK) $(GO) test -count=1 -run TestSoak -v -timeout 60m ./cmd/internal/fullstack/

clean:
	rm -rf bin out
