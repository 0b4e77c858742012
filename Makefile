# Tool versions are pinned in go.mod; nothing here downloads a binary.
GO ?= go

.PHONY: all fmt vet lint test test-short bench bench-go fuzz demo worker redis

all: vet test

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

# Determinism check of the workflow code (pinned version).
lint: vet
	$(GO) run go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0 ./workflows/...

# The test command of the README: every package, real Redis on
# 127.0.0.1:6379 (REDIS_URL overrides), in-process Temporal server.
test: redis
	$(GO) test -count=1 -timeout 30m ./...

# Start a throwaway redis-server on 127.0.0.1:6379 when none answers.
redis:
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { \
		command -v redis-server >/dev/null || { echo "make test needs redis-server: apt-get install redis-server (.ci/run does it)"; exit 1; }; \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
		for i in 1 2 3 4 5 6 7 8 9 10; do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done; }

test-short:
	$(GO) test -short -count=1 ./...

# The figures of docs/PERFORMANCE.md in one command (embedded server, real
# Redis or an in-process stand-in, a worker process); BENCH_ARGS passes
# flags, e.g. make bench BENCH_ARGS='--cycles 50'. The Go benchmarks:
# make bench-go.
bench:
	$(GO) run ./starter bench $(BENCH_ARGS)

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./gates/ ./activities/

# Bounded fuzzing of reports, timestamps, contracts and the gates CLI
# flags (FUZZTIME per target, default 15s), as CI runs it.
fuzz:
	bash .ci/fuzz

demo:
	$(GO) run ./starter demo

worker:
	$(GO) run ./worker --dev

# Mutation testing (docs/RELIABILITY.md, "Mutation testing"): gremlins'
# condition and arithmetic mutants, then the statement mutants of
# tools/stmtmutate, over gates/, config/, workflows/ and the restart and
# publish code of activities/. Long on 2 cores; MUTATE_SAMPLE=N tests a
# seeded sample of N statement mutants per target (the CI sample),
# MUTATE_GREMLINS=0 skips gremlins, MUTATE_FLAGS passes more flags (e.g.
# -func). gremlins times a mutant out at a multiple of its coverage run,
# which the test cache can make tiny: the coefficient is large on purpose.
GREMLINS ?= $(GO) run github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0
MUTATE_SAMPLE ?= 0
MUTATE_SEED ?= 1
MUTATE_TIMEOUT ?= 3m
MUTATE_GREMLINS ?= 1
MUTATE_FLAGS ?=
MUTATE_NOT_RESTART_PUBLISH = (activities|drivers|evaluate|files|plan|replay|store|types|watch)\.go$$

.PHONY: mutate
mutate: redis
	@if [ "$(MUTATE_GREMLINS)" = 1 ]; then \
		for p in gates config workflows; do \
			echo "== gremlins ./$$p"; \
			$(GREMLINS) unleash --workers 2 --timeout-coefficient 30 -S lt ./$$p || exit 1; \
		done; \
		echo "== gremlins ./activities (restart.go, publish.go)"; \
		$(GREMLINS) unleash --workers 2 --timeout-coefficient 30 -S lt -E '$(MUTATE_NOT_RESTART_PUBLISH)' ./activities || exit 1; \
	fi
	@echo "== stmtmutate"
	$(GO) run ./tools/stmtmutate -parallel 2 -sample $(MUTATE_SAMPLE) -seed $(MUTATE_SEED) -timeout $(MUTATE_TIMEOUT) $(MUTATE_FLAGS) \
		./gates ./config ./workflows \
		'./activities/restart.go@Restart|Drill|StopStart' './activities/publish.go@Publish|WriteDrill'
