package main

import (
	"context"
	"strings"
	"testing"
)

// -match keeps only the mutants whose "file:line op" it matches, so known
// survivors can be re-run alone.
func TestMatchSelectsMutants(t *testing.T) {
	var out strings.Builder
	err := run(context.Background(), []string{"-C", "testdata/tiny", "-list", "-match", `^tiny\.go:26 negate-if$|:18 `, "."}, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := "tiny.go:18\tremove-assign\tSum\ti++ → (removed)\n" +
		"tiny.go:26\tnegate-if\tUntested\tok → !(ok)\n" +
		"2 mutants\n"
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
	}
	if err := run(context.Background(), []string{"-match", "(", "."}, &out); err == nil || !strings.Contains(err.Error(), "parse flag -match") {
		t.Fatalf("a bad -match is refused, got %v", err)
	}
}
