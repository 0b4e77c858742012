package rootfs

import (
	"path/filepath"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// segAlphabet is small so that generated names and patterns meet: the
// characters of stamped report names, the wildcards and class syntax, and
// a byte that is not valid UTF-8.
var segAlphabet = []rune{'a', 'b', '_', '.', '-', '0', '1', '9', 'T', 'Z', '*', '?', '[', ']', '^', '!', '\\', 'é', '\xff'}

func drawSeg(t *rapid.T, label string, alphabet []rune, maxLen int) string {
	rs := rapid.SliceOfN(rapid.SampledFrom(alphabet), 0, maxLen).Draw(t, label)
	var b strings.Builder
	for _, r := range rs {
		if r == '\xff' {
			b.WriteByte(0xff)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestPropertyCompiledSegMatchesFilepathMatch: for any pattern segment and
// any name without '/', the matcher compiled once per glob says what
// filepath.Match says (a malformed pattern matches nothing). The patterns
// are drawn both at random and in the shapes report families use (a
// prefix, one '*', a suffix), so every kind of compiled segment is met.
func TestPropertyCompiledSegMatchesFilepathMatch(t *testing.T) {
	nameChars := []rune{'a', 'b', '_', '.', '-', '0', '1', '9', 'T', 'Z', '*', '?', '[', ']', 'é', '\xff'}
	rapid.Check(t, func(t *rapid.T) {
		var pat string
		switch rapid.IntRange(0, 3).Draw(t, "shape") {
		case 0:
			pat = drawSeg(t, "pat", segAlphabet, 8)
		case 1: // prefix*suffix, as a report family's glob, at times with
			// another wildcard in it; on two letters prefix and suffix
			// often overlap ("ab*ba" against "aba")
			chars := rapid.SampledFrom([][]rune{nameChars[:2], nameChars[:10]}).Draw(t, "chars")
			prefix, suffix := drawSeg(t, "prefix", chars, 4), drawSeg(t, "suffix", chars, 4)
			wild := rapid.SampledFrom([]string{"", "", "?", "[ab]", `\*`, "*"}).Draw(t, "wild")
			if rapid.Bool().Draw(t, "wildInPrefix") {
				prefix += wild
			} else {
				suffix = wild + suffix
			}
			pat = prefix + "*" + suffix
		case 2: // a literal name
			pat = drawSeg(t, "literal", nameChars[:10], 6)
		default:
			pat = "**"
		}
		var name string
		switch rapid.IntRange(0, 2).Draw(t, "nameFrom") {
		case 0:
			// A name built from the pattern's own bytes meets it more often.
			name = strings.NewReplacer("*", drawSeg(t, "fill", nameChars[:10], 3), "?", "a", "[", "", "]", "", "\\", "").Replace(pat)
		case 1:
			// The same with a piece cut out of it: shorter than prefix
			// and suffix together.
			name = strings.NewReplacer("*", "", "?", "a", "[", "", "]", "", "\\", "").Replace(pat)
			i := rapid.IntRange(0, len(name)).Draw(t, "cutFrom")
			j := rapid.IntRange(i, len(name)).Draw(t, "cutTo")
			name = name[:i] + name[j:]
		default:
			name = drawSeg(t, "name", nameChars, 10)
		}
		want, err := filepath.Match(pat, name)
		if err != nil {
			want = false
		}
		m := compileSeg(pat)
		if got := m.match(name); got != want {
			t.Fatalf("compileSeg(%q).match(%q) = %v, filepath.Match says %v (kind %d)", pat, name, got, want, m.kind)
		}
	})
}

// TestPropertyMatchCompiledAgreesWithMatchSegs: on whole paths, with "**"
// segments, the compiled walk matcher and the reference matchSegs agree,
// and so do the two "can anything below match" tests.
func TestPropertyMatchCompiledAgreesWithMatchSegs(t *testing.T) {
	segs := []string{"reports", "parity", "**", "*", "parity_*.json", "p?rity_1.json", "[ab]", "a", "b", "parity_1.json", "x[", `\*`}
	names := []string{"reports", "parity", "a", "b", "parity_1.json", "parity_.json", "x[", "*", "c"}
	rapid.Check(t, func(t *rapid.T) {
		pat := rapid.SliceOfN(rapid.SampledFrom(segs), 1, 5).Draw(t, "pat")
		name := rapid.SliceOfN(rapid.SampledFrom(names), 0, 5).Draw(t, "name")
		c := compileSegs(pat)
		if got, want := matchCompiled(c, name), matchSegs(pat, name); got != want {
			t.Fatalf("matchCompiled(%q, %q) = %v, matchSegs says %v", pat, name, got, want)
		}
		if got, want := canMatchBelowCompiled(c, name), canMatchBelow(pat, name); got != want {
			t.Fatalf("canMatchBelowCompiled(%q, %q) = %v, canMatchBelow says %v", pat, name, got, want)
		}
	})
}
