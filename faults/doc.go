// Package faults proves the strict cycle under faults, end to end: a worker
// killed with SIGKILL in every phase, the Temporal server stopped and
// restarted mid-cycle, Redis down, torn report writes and skewed report
// clocks. The tests run a real in-process Temporal server on a SQLite file,
// a real redis-server, the worker binary as a separate process and the
// simulated hbot stack's producers as processes. See docs/RELIABILITY.md.
//
// The package has tests only; run them with
//
//	go test -count=1 ./faults/ -v
package faults
