package cycletypes_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/cycletypes"
)

func TestCheckOperatorText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"INC-42 ü ✓", ""},
		{strings.Repeat("r", 16), ""},
		{strings.Repeat("r", 17), "reason is 17 bytes, more than 16"},
		{"", "reason is required"},
		{"a\xffb", "reason is not valid UTF-8"},
		{"a\nb", "reason holds control character U+000A at byte 1 (one line of printable text)"},
		{"a\rb", "reason holds control character U+000D at byte 1 (one line of printable text)"},
		{"\tx", "reason holds control character U+0009 at byte 0 (one line of printable text)"},
		{"x\x1b[2J", "reason holds control character U+001B at byte 1 (one line of printable text)"},
		{"x\x7f", "reason holds control character U+007F at byte 1 (one line of printable text)"},
		{"x\u009b2J", "reason holds control character U+009B at byte 1 (one line of printable text)"},
		{"x\u2028y", "reason holds control character U+2028 at byte 1 (one line of printable text)"},
		{"\u202eevil", "reason holds control character U+202E at byte 0 (one line of printable text)"},
		{"ok\u2066", "reason holds control character U+2066 at byte 2 (one line of printable text)"},
	} {
		err := cycletypes.CheckOperatorText("reason", tt.in, 16)
		if tt.want == "" {
			require.NoError(t, err, "%q", tt.in)
		} else {
			require.EqualError(t, err, tt.want, "%q", tt.in)
		}
	}
}
