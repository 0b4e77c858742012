package gates

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/strictcycle/strictcycle/cycletypes"
)

// Printable returns s with every character that could start a new line or
// rewrite one on a terminal escaped, so that a check name, reason or path
// printed on one line stays on that line: \n, \r and \t as such, other
// control characters (C0, DEL, C1), the Unicode line and paragraph
// separators and the bidirectional overrides as \u escapes, and invalid
// UTF-8 bytes as \x escapes. A string with none of them is returned as is,
// so ordinary names and reasons print byte for byte.
//
// Backslashes are not escaped: a literal `\n` in a name stays ambiguous
// with an escaped newline, but it can never forge a line.
func Printable(s string) string {
	i := strings.IndexFunc(s, needsEscape)
	if i < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case needsEscape(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[:size])
		}
		s = s[size:]
	}
	return b.String()
}

// PrintableList joins the escaped items with ",".
func PrintableList(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = Printable(s)
	}
	return strings.Join(out, ",")
}

func needsEscape(r rune) bool { return cycletypes.NeedsEscape(r) }
