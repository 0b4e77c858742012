# Tool versions are pinned in go.mod; nothing here downloads a binary.
GO ?= go

.PHONY: all fmt vet test test-short bench fuzz demo worker

all: vet test

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

# The test command of the README: every package, real Redis on
# 127.0.0.1:6379 (REDIS_URL overrides), in-process Temporal server.
test:
	$(GO) test -count=1 -timeout 30m ./...

test-short:
	$(GO) test -short -count=1 ./...

# Benchmarks for the figures in docs/PERFORMANCE.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./gates/ ./activities/ ./e2e/

demo:
	$(GO) run ./starter demo

worker:
	$(GO) run ./worker --dev
