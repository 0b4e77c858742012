// Package deploy holds the tests of the docker compose deployment
// (../docker-compose.yml); it has no runtime code.
package deploy
