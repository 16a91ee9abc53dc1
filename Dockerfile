# syntax=docker/dockerfile:1
# Multi-stage build: a static, version-stamped binary on a distroless, non-root runtime.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/minbil-bff ./cmd/minbil-bff

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/minbil-bff /usr/local/bin/minbil-bff
COPY configs/ /etc/minbil-bff/
USER nonroot:nonroot
EXPOSE 5000
ENTRYPOINT ["/usr/local/bin/minbil-bff"]
CMD ["serve", "--config", "/etc/minbil-bff/gateway.yaml", "--addr", ":5000"]
