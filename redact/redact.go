// Package redact masks secret values in text a child process printed, so
// that the text can go into workflow history, logs, artifacts and Redis.
package redact

import (
	"cmp"
	"net/url"
	"os"
	"slices"
	"strings"
)

// Mask replaces every occurrence of a secret.
const Mask = "[redacted]"

// Redactor masks a fixed set of secret values. The zero value and a nil
// *Redactor mask nothing. It is safe for concurrent use.
type Redactor struct {
	secrets  []string // longest first
	maxLen   int
	replacer *strings.Replacer
}

// New returns a Redactor for the non-empty values, each also in its URL
// query and path encodings (a child printing a URL shows a password
// encoded).
func New(values ...string) *Redactor {
	return (*Redactor)(nil).With(values...)
}

// With returns a Redactor that masks r's secrets and the values.
func (r *Redactor) With(values ...string) *Redactor {
	var all []string
	if r != nil {
		all = slices.Clone(r.secrets)
	}
	for _, v := range values {
		if v == "" {
			continue
		}
		all = append(all, v, url.QueryEscape(v), url.PathEscape(v))
	}
	slices.SortFunc(all, func(a, b string) int {
		// Longest first: a secret that contains another is masked whole.
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	all = slices.Compact(all)
	out := &Redactor{secrets: all}
	if len(all) == 0 {
		return out
	}
	pairs := make([]string, 0, 2*len(all))
	for _, s := range all {
		pairs = append(pairs, s, Mask)
	}
	out.replacer = strings.NewReplacer(pairs...)
	out.maxLen = len(all[0])
	return out
}

// Len is the number of values masked (encodings included).
func (r *Redactor) Len() int {
	if r == nil {
		return 0
	}
	return len(r.secrets)
}

// MaxLen is the length of the longest secret: a tail window kept that much
// longer than its cap sees every secret that ends inside the cap whole.
func (r *Redactor) MaxLen() int {
	if r == nil {
		return 0
	}
	return r.maxLen
}

// String masks every secret in s.
func (r *Redactor) String(s string) string {
	if r == nil || r.replacer == nil {
		return s
	}
	return r.replacer.Replace(s)
}

// Tail masks the last bytes of a command's output and keeps at most max
// bytes of valid UTF-8. cut says that raw is itself the end of a longer
// output: a secret that straddled the cut shows only its end, which is
// dropped. raw should hold at least max+MaxLen() bytes when cut, so that
// every secret ending within the kept max bytes is seen whole.
func (r *Redactor) Tail(raw []byte, cut bool, max int) string {
	s := string(raw)
	if cut {
		s = s[r.partialPrefix(s):]
	}
	s = r.String(s)
	if len(s) > max {
		s = s[len(s)-max:]
	}
	return strings.ToValidUTF8(s, "")
}

// partialPrefix is the length of the longest proper suffix of a secret
// that s starts with.
func (r *Redactor) partialPrefix(s string) int {
	if r == nil {
		return 0
	}
	n := 0
	for _, sec := range r.secrets {
		for k := min(len(sec)-1, len(s)); k > n; k-- {
			if strings.HasPrefix(s, sec[len(sec)-k:]) {
				n = k
				break
			}
		}
	}
	return n
}

// Lines returns the lines of a secret file (a PEM key) at least minLen
// bytes long, trimmed: a child that prints one line of the key shows a
// masked line.
func Lines(data string, minLen int) []string {
	var out []string
	for _, l := range strings.Split(data, "\n") {
		if l = strings.TrimSpace(l); len(l) >= minLen && !strings.HasPrefix(l, "-----") {
			out = append(out, l)
		}
	}
	return out
}

// FromEnv returns the values of the named variables of this process's
// environment (unset ones are skipped).
func FromEnv(names []string) []string {
	var out []string
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok && v != "" {
			out = append(out, v)
		}
	}
	return out
}
