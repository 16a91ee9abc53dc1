# syntax=docker/dockerfile:1
#
# minbil-bff: a static, version-stamped binary on a distroless, non-root
# runtime. One image for the gateway (the default command) and the mock:
#
#   docker build --build-arg VERSION=$(git describe --always) -t minbil-bff .
#   docker run -p 5000:5000 minbil-bff                       # gateway + built-in mock
#   docker run -p 5050:5050 --no-healthcheck minbil-bff mock --addr :5050
#
# The base images are pinned by tag. Pin them by digest too (image@sha256:…)
# once a digest has been read off the registry; no digest was at hand when
# this was written. The golang tag must equal the go line of go.mod; a test
# (cmd/minbil-bff/dockerfile_test.go) keeps the two together.

# The build runs on the builder's own platform and cross-compiles, which a
# static binary allows, so a multi-platform build does not emulate the
# compiler.
FROM --platform=$BUILDPLATFORM golang:1.26.8-trixie AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/minbil-bff ./cmd/minbil-bff

# static: CA certificates, tzdata and /etc/passwd, no libc, no shell.
FROM gcr.io/distroless/static-debian13:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="minbil-bff" \
      org.opencontainers.image.source="https://github.com/minbil/minbil-bff" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/minbil-bff /usr/local/bin/minbil-bff
# Only the configuration files; configs/kubernetes holds manifests, not config.
COPY configs/gateway.yaml configs/production.yaml /etc/minbil-bff/
# The image's nonroot user, by number: a kubelet enforcing runAsNonRoot can
# only verify a numeric user.
USER 65532:65532
EXPOSE 5000
# No shell in the image, so the check is the binary itself (exec form). It
# GETs http://127.0.0.1:5000/readyz: a gateway draining after SIGTERM answers
# 503 and turns unhealthy. The mock has no /readyz: run it with
# --no-healthcheck.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/minbil-bff", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/minbil-bff"]
CMD ["serve", "--config", "/etc/minbil-bff/gateway.yaml", "--addr", ":5000"]
