# Tool versions are pinned in go.mod; nothing here downloads a binary.
GO ?= go

.PHONY: all fmt vet test test-short bench fuzz demo worker redis

all: vet test

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

# The test command of the README: every package, real Redis on
# 127.0.0.1:6379 (REDIS_URL overrides), in-process Temporal server.
test: redis
	$(GO) test -count=1 -timeout 30m ./...

# Start a throwaway redis-server on 127.0.0.1:6379 when none answers.
redis:
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

test-short:
	$(GO) test -short -count=1 ./...

# Benchmarks for the figures in docs/PERFORMANCE.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./gates/ ./activities/ ./e2e/

demo:
	$(GO) run ./starter demo

worker:
	$(GO) run ./worker --dev
