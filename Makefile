# Tool versions are pinned in go.mod; nothing here downloads a binary.
GO ?= go

.PHONY: all fmt vet lint test test-short test-fast test-hbot bench bench-go fuzz demo worker binaries redis

all: vet test

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...
	$(GO) vet -tags hbotfixture ./gates/ ./starter/

# Determinism check of the workflow code (pinned version).
lint: vet
	$(GO) run go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0 ./workflows/...

# Time limits per package. go test's -timeout applies to each package's
# test binary on its own, so a test that hangs fails its package (with every
# goroutine's stack) at the limit instead of holding CI until its 90-minute
# kill. The packages that start a Temporal server or real processes get
# TEST_TIMEOUT_SLOW: faults takes about 5 minutes alone and, built and run
# beside the others on 2 shared cores, up to 2-3 times that, so 20m leaves
# room without letting one hang eat most of CI's budget. Every other package
# finishes in seconds to a minute: TEST_TIMEOUT (5m). A new package is fast
# unless it is added to SLOW_PKGS.
MODULE = github.com/strictcycle/strictcycle
SLOW_PKGS = $(addprefix $(MODULE)/,activities dev devserver faults starter temporalclient workflows worker worker/workerapp)
FAST_PKGS = $(filter-out $(SLOW_PKGS),$(shell $(GO) list ./...))
TEST_TIMEOUT ?= 5m
TEST_TIMEOUT_SLOW ?= 20m

# The test command of the README: every package, real Redis on
# 127.0.0.1:6379 (REDIS_URL overrides), in-process Temporal server. It
# needs nothing outside the repository: the hbot-shaped trees the tests
# read are generated (simstack.WriteDay28).
test: redis
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(FAST_PKGS)
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT_SLOW) $(SLOW_PKGS)

# Start a throwaway redis-server on 127.0.0.1:6379 when none answers.
redis:
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { \
		command -v redis-server >/dev/null || { echo "make test needs redis-server: apt-get install redis-server (.ci/run does it)"; exit 1; }; \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
		for i in 1 2 3 4 5 6 7 8 9 10; do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done; }

test-short:
	$(GO) test -short -count=1 -timeout $(TEST_TIMEOUT) $(FAST_PKGS)
	$(GO) test -short -count=1 -timeout $(TEST_TIMEOUT_SLOW) $(SLOW_PKGS)

# The fast part of make test (-short; the packages that link no Temporal
# server, and the operator CLI's): what .ci/clone-check runs in a fresh
# clone with nothing beside it.
test-fast: redis
	$(GO) test -short -count=1 -timeout $(TEST_TIMEOUT) $(FAST_PKGS) ./starter/

# The real-data suite: the tests tagged hbotfixture, against a real
# Day-28 hbot report tree (not part of this repository). It fails when the
# tree is missing and when a package runs none of them; make test does not
# depend on it. .ci/run runs it with the default path.
HBOT_FIXTURE ?= ../shared/fixtures/hbot-day28
test-hbot:
	@test -d "$(HBOT_FIXTURE)/reports/promotion_gates" || { \
		echo "make test-hbot: no hbot-day28 report tree at HBOT_FIXTURE=$(HBOT_FIXTURE) (set HBOT_FIXTURE=DIR)" >&2; exit 1; }
	@out=$$(HBOT_FIXTURE="$(abspath $(HBOT_FIXTURE))" $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -tags hbotfixture \
		-run '^TestHbotFixture' -v ./gates/ ./starter/ 2>&1); rc=$$?; echo "$$out"; \
	if echo "$$out" | grep -q -e 'no tests to run' -e 'no test files'; then \
		echo "make test-hbot: a package ran no hbotfixture test" >&2; exit 1; fi; exit $$rc

# The figures of docs/PERFORMANCE.md in one command (embedded server, real
# Redis or an in-process stand-in, the production worker binary as a
# process); BENCH_ARGS passes flags, e.g. make bench BENCH_ARGS='--cycles 50'.
# BENCH_ARGS=--json ends the output with one JSON object of the figures:
# make -s bench BENCH_ARGS=--json | tail -n 1. The Go benchmarks: make bench-go.
bench:
	$(GO) run ./dev bench $(BENCH_ARGS)

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./gates/ ./activities/

# Bounded fuzzing of reports, timestamps, contracts and the gates CLI
# flags (FUZZTIME per target, default 15s), as CI runs it.
fuzz:
	bash .ci/fuzz

# The whole story in one command (README).
demo:
	$(GO) run ./dev demo

# A local worker: an embedded Temporal server with its Web UI and the
# worker inside (go run ./dev server), for the operator CLI (go run
# ./starter ...). The production worker alone, against TEMPORAL_*: go run
# ./worker.
worker:
	$(GO) run ./dev server

# The lean production binaries, as the Dockerfile builds them.
binaries:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o bin/ ./worker ./starter

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
		'./activities/restart.go@Restart|Drill|StopStart|BadEnvironment' './activities/publish.go@Publish|WriteDrill|BadEnvironment' './activities/store.go@Store|Claim|Restart|Publish'

# The cluster suite (issue 11): the real Temporal server (built from the
# pinned module) on PostgreSQL with SQL visibility, three worker processes,
# 50 environments, a worker SIGKILLed and the server restarted under load
# (cluster/, build tag cluster; make test does not run it). .ci/cluster
# starts PostgreSQL when needed, makes two throwaway databases and drops
# them after, whatever happened. CLUSTER_RUN=REGEXP picks tests.
.PHONY: test-cluster
test-cluster: redis
	bash .ci/cluster
# The real-Docker-Engine suite (dockere2e, build tag dockere2e): installs
# docker.io and the compose plugin when missing, runs a dockerd of its own
# (stopped again at the end), builds the FROM scratch images and runs
# TestDocker*/TestCompose* with go test -v. See .ci/test-docker.
.PHONY: test-docker
test-docker: redis
	$(GO) vet -tags dockere2e ./dockere2e/
	bash .ci/test-docker
