// Package cluster holds the tests of strictcycle on a real Temporal
// cluster: the Temporal server binary (built from the pinned
// go.temporal.io/server) on PostgreSQL with SQL visibility, configured by
// deploy/temporal-server.yaml, three processes of the production worker,
// real Redis and the simulated hbot stack. The tests carry the build tag
// cluster: `make test-cluster` (.ci/cluster) makes the databases, runs
// them and drops the databases; `make test` does not build them.
package cluster
