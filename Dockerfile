# syntax=docker/dockerfile:1
# strictcycle: the worker and the operator CLI in one small image.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so a source change does not refetch them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Static binaries (CGO off), reproducible paths, no debug info. Neither
# links the Temporal server or its Web UI (those are in ./dev, which the
# image does not carry): each is well under 40 MB.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/strictcycle-worker ./worker && \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/strictcycle ./starter

# distroless/static has no shell and no package manager; healthchecks use
# the strictcycle binary itself. The nonroot tag runs as uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/strictcycle-worker /usr/local/bin/strictcycle-worker
COPY --from=build /out/strictcycle /usr/local/bin/strictcycle
USER 65532:65532
# Prometheus metrics and /healthz (STRICTCYCLE_METRICS_ADDR).
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/strictcycle-worker"]
