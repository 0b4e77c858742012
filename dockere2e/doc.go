// Package dockere2e holds the tests against a real Docker Engine: the
// simulated hbot producers as containers of a compose project
// (deploy/hbotsim-compose.yml), restarted by real strict cycles through the
// docker and compose drivers, and the worker itself in a container. They
// carry the build tag dockere2e, so `make test` (no engine) does not build
// them; `make test-docker` (.ci/test-docker) starts an engine and runs them.
package dockere2e
