package deploy

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func readCompose(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(composeFile)
	require.NoError(t, err)
	return string(b)
}

// TestDockerfile checks the image contract the compose file relies on.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	df := string(b)
	for _, want := range []string{
		"FROM golang:1.26 AS build",
		"go build -trimpath -ldflags=\"-s -w\" -o /out/strictcycle-worker ./worker",
		"-o /out/strictcycle ./starter",
		"/usr/local/bin/strictcycle-worker",
		"/usr/local/bin/strictcycle\n",
		"USER 65532:65532",
	} {
		require.Contains(t, df, want)
	}
	require.Equal(t, 2, strings.Count(df, "\nFROM ")+btoi(strings.HasPrefix(df, "FROM ")), "multi-stage: builder + runtime")
	for _, secret := range []string{"PASSWORD", "API_KEY", "TOKEN", "SECRET"} {
		require.NotContains(t, strings.ToUpper(df), secret, "no secrets in the image")
	}

	ig, err := os.ReadFile("../.dockerignore")
	require.NoError(t, err)
	for _, want := range []string{".git", ".env", "**/.sim/"} {
		require.Contains(t, strings.Split(string(ig), "\n"), want)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
