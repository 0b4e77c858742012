package cycletypes

import (
	"fmt"
	"unicode/utf8"
)

// Bounds of the free text an operator sends with approve, abort and waive:
// it is kept in workflow history, the status query, the published
// decision and the gate artifacts of every later run of the cycle.
const (
	MaxOperatorName   = 128  // by
	MaxOperatorReason = 1024 // reason, in bytes
)

// NeedsEscape reports whether r could start a new line or rewrite one on a
// terminal: C0 and C1 controls, DEL, the Unicode line and paragraph
// separators and the bidirectional controls. gates.Printable escapes these;
// operator text refuses them.
func NeedsEscape(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0: // C0, DEL, C1 (NEL is C1)
		return true
	case r == 0x2028, r == 0x2029: // line, paragraph separator
		return true
	case r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi controls
		return true
	}
	return false
}

// CheckOperatorText refuses operator text (a reason, a name) that is empty,
// longer than max bytes, not UTF-8, or holds a character that could forge or
// rewrite a line where it is printed (NeedsEscape). field names the flag or
// request field in the error.
func CheckOperatorText(field, s string, max int) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is required", field)
	case len(s) > max:
		return fmt.Errorf("%s is %d bytes, more than %d", field, len(s), max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	for i, r := range s {
		if NeedsEscape(r) {
			return fmt.Errorf("%s holds control character %U at byte %d (one line of printable text)", field, r, i)
		}
	}
	return nil
}
