package gates

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/strictcycle/strictcycle/config"
	"github.com/strictcycle/strictcycle/rootfs"
)

// The secrets hygiene scan of run_secrets_hygiene_check.py (rules in
// docs/COMPATIBILITY.md, "Native checkers"), streaming and parallel.

// pySpace is Python's \s (and str.isspace) on str: ASCII whitespace, the
// separators \x1c-\x1f, and Unicode's spaces. Go's \s is ASCII only.
const pySpace = `\t\n\v\f\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`

// secretRule is one of the script's regexes: its Python text (the report's
// rule is "regex:" + it) and a Go equivalent without the leading \b, which
// is tested on the character before each match (Python's \b is Unicode
// aware, Go's is ASCII only).
//
// Go's regexp runs these case-folded alternations at a few MB/s, so a
// match is looked for only where one can start: at a (lower-cased ASCII)
// occurrence of a keyword the match must begin with (needles), with the
// anchored form. Case folding maps two non-ASCII characters onto the
// keywords' letters (foldsToASCII); text holding one is searched with the
// plain regexp.
type secretRule struct {
	py       string
	re       *regexp.Regexp
	anchored *regexp.Regexp
	needles  [][]byte
}

func newSecretRule(py, body string, needles ...string) secretRule {
	r := secretRule{py: py, re: regexp.MustCompile(`(?i)` + body), anchored: regexp.MustCompile(`^(?i:` + body + `)`)}
	for _, n := range needles {
		r.needles = append(r.needles, []byte(n))
	}
	return r
}

var secretRules = []secretRule{
	newSecretRule(`(?i)\b(api[_-]?key|secret|passphrase|token|password)\s*[:=]\s*[^\s]{8,}`,
		`(ap`+pyI+`[_-]?key|secret|passphrase|token|password)[`+pySpace+`]*[:=][`+pySpace+`]*[^`+pySpace+`]{8,}`,
		"api", "secret", "passphrase", "token", "password"),
	newSecretRule(`(?i)\bauthorization\s*:\s*bearer\s+[a-z0-9\._\-]{8,}`,
		`author`+pyI+`zat`+pyI+`on[`+pySpace+`]*:[`+pySpace+`]*bearer[`+pySpace+`]+[a-z0-9\._\-\x{131}\x{130}]{8,}`,
		"authorization"),
}

// pyI is the letter i under Python's IGNORECASE: it also matches the
// dotless i (U+0131) and the dotted capital I (U+0130), which Go's folding
// does not.
const pyI = `[i\x{131}\x{130}]`

// foldsToASCII are the UTF-8 forms of the non-ASCII characters a keyword
// letter matches: U+017F (s), U+212A (k), U+0131 and U+0130 (i).
var foldsToASCII = [][]byte{[]byte("\u017f"), []byte("\u212a"), []byte("\u0131"), []byte("\u0130")}

// find is the leftmost match of the rule in text (nil if none); lower is
// text with ASCII letters lower-cased (same offsets).
// plain says the text holds a character of foldsToASCII: the needles
// cannot find every match there.
func (r *secretRule) find(text, lower []byte, plain bool) []int {
	if plain {
		return r.re.FindIndex(text)
	}
	// next[k] is the next occurrence of needle k not yet tried (-1: none
	// left), so each needle's text is searched once per call.
	var next [8]int
	for k, n := range r.needles {
		next[k] = bytes.Index(lower, n)
	}
	for {
		at := -1
		for k := range r.needles {
			if next[k] >= 0 && (at < 0 || next[k] < at) {
				at = next[k]
			}
		}
		if at < 0 {
			return nil
		}
		if loc := r.anchored.FindIndex(text[at:]); loc != nil {
			return []int{at, at + loc[1]}
		}
		// No match here; only needles at this position move on.
		for k, n := range r.needles {
			if next[k] == at {
				if i := bytes.Index(lower[at+1:], n); i >= 0 {
					next[k] = at + 1 + i
				} else {
					next[k] = -1
				}
			}
		}
	}
}

// lowerASCII writes b with ASCII letters lower-cased into dst.
func lowerASCII(dst, b []byte) []byte {
	dst = append(dst[:0], b...)
	for i, c := range dst {
		if c >= 'A' && c <= 'Z' {
			dst[i] = c + ('a' - 'A')
		}
	}
	return dst
}

// maxRuleRuns is the most whitespace-separated runs one match spans
// ("authorization", ":", "bearer", the token): a match that may still grow
// starts in the last this many runs of what has been read.
const maxRuleRuns = 4

// scanChunk is the read size of the streaming scan.
const scanChunk = 64 << 10

// textExt are the suffixes (lower-cased) of the files the script scans.
var textExt = map[string]bool{".md": true, ".txt": true, ".log": true, ".json": true, ".jsonl": true,
	".csv": true, ".yaml": true, ".yml": true, ".env": true}

// isPySpace is Python's str.isspace() (the characters of pySpace).
func isPySpace(r rune) bool {
	switch {
	case r == ' ' || (r >= '\t' && r <= '\r') || (r >= 0x1c && r <= 0x1f) || r == 0x85 || r == 0xa0:
		return true
	case r < 0x1680:
		return false
	}
	return r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000
}

// isPyWord is Python's \w on str (alphanumeric or underscore).
func isPyWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// pySuffix is pathlib's PurePath.suffix: from the last dot of the name,
// unless the dot is the first or the last character.
func pySuffix(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return ""
	}
	return name[i:]
}

// secretFinding is one entry of the report's findings.
type secretFinding struct{ path, rule, excerpt string }

func (f secretFinding) obj() pyObj {
	return pyObj{{"path", f.path}, {"rule", f.rule}, {"match_excerpt", f.excerpt}}
}

// scanTarget is a file to scan; symlink is set when the directory listing
// showed a symlink (followed inside the root; one to a directory or to
// nothing is no file, as pathlib's is_file()).
type scanTarget struct {
	rel, dir, name string
	symlink        bool
}

// checkSecretsHygiene scans, writes the script's report (with what could
// not be scanned, when anything could not) and is judged on it; anything
// it could not read makes it an error, never a pass.
func checkSecretsHygiene(ctx context.Context, env *evalEnv, ck *config.Check) Result {
	if env.noCommands {
		return env.judgeNative(ck, false)
	}
	s := ck.SecretsHygiene
	secrets, err := env.envSecretValues(s.Env())
	if err != nil {
		return env.nativeError(ck, []error{err}, false)
	}
	targets, errs := env.secretTargets(s.IncludeLogs)
	findings, scanErrs := env.scanAll(ctx, targets, secrets, s.MaxBytes())
	errs = append(errs, scanErrs...)
	if err := ctx.Err(); err != nil {
		return Result{Verdict: VerdictError, Reason: fmt.Sprintf("%s: cancelled: %v", failText(ck), err)}
	}
	status := "pass"
	if len(findings) > 0 || len(errs) > 0 {
		status = "fail"
	}
	shown := findings
	if len(shown) > 200 {
		shown = shown[:200]
	}
	objs := make([]pyObj, len(shown))
	for i, f := range shown {
		objs[i] = f.obj()
	}
	payload := pyObj{{"ts_utc", pyISOFormat(env.now)}, {"status", status}, {"include_logs", s.IncludeLogs},
		{"scanned_files", len(targets)}, {"finding_count", len(findings)}, {"findings", objs}}
	if len(errs) > 0 {
		// Not the script's field: what could not be scanned, so a reader of
		// the report sees why it failed without findings.
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		payload = append(payload, pyKV{"scan_errors", msgs})
	}
	stamped, err := env.writeNativeReport(s.Dir(), "secrets_hygiene", pyJSON(payload))
	if err != nil {
		return env.nativeError(ck, append(errs, err), false)
	}
	if len(errs) > 0 {
		return env.nativeError(ck, errs, true)
	}
	r := env.judgeNative(ck, true)
	r.OutputTail = secretsStdout(status, len(targets), findings, env.abs(stamped))
	return r
}

// secretsStdout is the script's stdout, plus the path and rule (never the
// excerpt) of the first findings, for the gate artifact.
func secretsStdout(status string, scanned int, findings []secretFinding, evidence string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[secrets-hygiene] status=%s\n[secrets-hygiene] scanned_files=%d\n[secrets-hygiene] finding_count=%d\n[secrets-hygiene] evidence=%s",
		status, scanned, len(findings), evidence)
	for i, f := range findings {
		if i == 20 {
			fmt.Fprintf(&b, "\n[secrets-hygiene] ... %d more", len(findings)-i)
			break
		}
		fmt.Fprintf(&b, "\n[secrets-hygiene] finding %s %s", f.path, f.rule)
	}
	return b.String()
}

// secretTargets lists the files the script scans, in walk order: every
// file of docs/ and reports/, then (includeLogs) every file under data/
// with a directory or file named "logs" in its root-relative path, kept
// when its suffix is a text one. An entry that is neither a directory, a
// regular file nor a symlink (a FIFO, a socket, a device) with a text
// suffix, and a directory that cannot be listed, are errors: the scan
// cannot vouch for them. Directories are listed without a stat per entry.
func (e *evalEnv) secretTargets(includeLogs bool) ([]scanTarget, []error) {
	var out []scanTarget
	var errs []error
	var walk func(dir string)
	walk = func(dir string) {
		des, err := e.fs.ReadDirTypes(dir)
		if err != nil {
			errs = append(errs, wrapRead(dir, err))
			return
		}
		for _, d := range des {
			p := dir + "/" + d.Name()
			if d.IsDir() {
				walk(p)
				continue
			}
			if !textExt[strings.ToLower(pySuffix(d.Name()))] {
				continue
			}
			if strings.HasPrefix(p, "data/") && !hasLogsPart(p) {
				continue
			}
			if t, err := e.secretTarget(dir, d.Name(), d.Type()); err != nil {
				errs = append(errs, err)
			} else if t != nil {
				out = append(out, *t)
			}
		}
	}
	for _, base := range []string{"docs", "reports", "data"} {
		if (base != "data" || includeLogs) && e.isDir(base) {
			walk(base)
		}
	}
	return out, errs
}

// secretTarget is the scan target of a listed entry of a text suffix, or
// nil for a symlink that is no file (to a directory or to nothing, as
// is_file() has it).
func (e *evalEnv) secretTarget(dir, name string, t fs.FileMode) (*scanTarget, error) {
	p := dir + "/" + name
	switch {
	case t.IsRegular():
		return &scanTarget{rel: p, dir: dir, name: name}, nil
	case t&fs.ModeSymlink == 0:
		return nil, fmt.Errorf("%s: %s: cannot be scanned", p, kindOf(t))
	}
	st, err := e.fs.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, wrapRead(p, err)
	case st.Mode().IsRegular():
		return &scanTarget{rel: p, dir: dir, name: name, symlink: true}, nil
	case st.IsDir():
		return nil, nil
	}
	return nil, fmt.Errorf("%s: leads to %s: cannot be scanned", p, kindOf(st.Mode()))
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file (" + m.String() + ")"
}

func hasLogsPart(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if part == "logs" {
			return true
		}
	}
	return false
}

// scanResult is what the scan of one file gave.
type scanResult struct {
	findings []secretFinding
	err      error
}

// scanAll scans the targets on one worker per core; findings keep the
// targets' order, each file's as the script listed them (every match of
// the first rule, then of the second, then one per secret value found).
func (e *evalEnv) scanAll(ctx context.Context, targets []scanTarget, secrets []string, max int64) ([]secretFinding, []error) {
	results := make([]scanResult, len(targets))
	subs := e.subRoots(targets)
	defer func() {
		for _, sub := range subs {
			sub.Close()
		}
	}()
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.NumCPU(), max1(len(targets))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, scanChunk)
			sc := &secretScanner{}
			for i := range next {
				results[i].findings, results[i].err = e.scanFile(subs[targets[i].dir], targets[i], secrets, max, buf, sc)
			}
		}()
	}
	for i := range targets {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	var out []secretFinding
	var errs []error
	for _, r := range results {
		out = append(out, r.findings...)
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	return out, errs
}

func max1(n int) int { return max(n, 1) }

// subRoots opens each directory holding a target as a root of its own, so
// that opening a file is one openat (rootfs.Root.Sub); a directory that
// cannot be opened so is left out, and its files are opened through the
// root.
func (e *evalEnv) subRoots(targets []scanTarget) map[string]*rootfs.Root {
	subs := map[string]*rootfs.Root{}
	for _, t := range targets {
		if _, done := subs[t.dir]; done {
			continue
		}
		sub, err := e.fs.Sub(t.dir)
		if err != nil {
			sub = nil
		}
		subs[t.dir] = sub
	}
	for dir, sub := range subs {
		if sub == nil {
			delete(subs, dir)
		}
	}
	return subs
}

// scanFile streams one file through the rules. A symlink to a directory
// or to nothing is no file (skipped, as the script's is_file()); one that
// leads outside the root, a file over the cap, and a read error are errors.
func (e *evalEnv) scanFile(sub *rootfs.Root, t scanTarget, secrets []string, max int64, buf []byte, sc *secretScanner) ([]secretFinding, error) {
	if t.symlink {
		st, err := e.fs.Stat(t.rel)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, wrapRead(t.rel, err)
		}
		if st.IsDir() {
			return nil, nil
		}
	}
	var f *rootfs.File
	var err error
	if sub != nil && !t.symlink {
		// A regular file of the listing, one openat; if it was replaced
		// by a symlink since, the sub root refuses what leaves it and
		// the root decides.
		if f, err = sub.Open(t.name, max); err != nil && !errors.Is(err, fs.ErrNotExist) {
			f, err = e.fs.Open(t.rel, max)
		}
		err = wrapRead(t.rel, err)
	} else {
		f, err = e.open(t.rel, max)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // gone since the listing
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc.reset(e.abs(t.rel), secrets)
	for {
		n, err := f.Read(buf)
		sc.feed(buf[:n], false)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, wrapRead(t.rel, err)
		}
	}
	sc.feed(nil, true)
	return sc.result(), nil
}

// secretScanner matches the rules over a file read in chunks. The text is
// decoded as the script's read_text(errors="ignore") does (invalid UTF-8
// dropped, \r\n and \r read as \n); only the part where a match may still
// start or grow is kept between chunks.
type secretScanner struct {
	path    string
	secrets []string
	keepLen int // bytes kept for a secret value straddling two chunks

	pending   []byte // an incomplete UTF-8 sequence at the end of a chunk
	pendingCR bool   // a \r whose successor is not known yet
	text      []byte // decoded text not yet discarded
	lower     []byte // text, ASCII lower-cased
	plain     bool   // text holds a character of foldsToASCII
	prev      rune   // the last rune discarded from text, -1 at the start
	resume    [2]int // per rule: where its next search starts in text
	found     [2][]secretFinding
	secretHit []bool
}

func newSecretScanner(path string, secrets []string) *secretScanner {
	s := &secretScanner{}
	s.reset(path, secrets)
	return s
}

// reset readies s for another file, keeping its buffers.
func (s *secretScanner) reset(path string, secrets []string) {
	keep := 0
	for _, v := range secrets {
		keep = max(keep, len(v))
	}
	hits := s.secretHit[:0]
	for range secrets {
		hits = append(hits, false)
	}
	*s = secretScanner{path: path, secrets: secrets, keepLen: keep, prev: -1, secretHit: hits,
		text: s.text[:0], lower: s.lower[:0], found: [2][]secretFinding{}}
}

// feed decodes chunk, matches what can be decided, and drops what no
// later match can need.
func (s *secretScanner) feed(chunk []byte, eof bool) {
	s.decode(chunk, eof)
	cut := len(s.text)
	if !eof {
		cut = runsStart(s.text, maxRuleRuns)
	}
	s.lower = lowerASCII(s.lower, s.text)
	s.plain = false
	for _, f := range foldsToASCII {
		s.plain = s.plain || bytes.Contains(s.text, f)
	}
	for i := range secretRules {
		s.match(i, &secretRules[i], cut)
	}
	for i, v := range s.secrets {
		if !s.secretHit[i] && bytes.Contains(s.text, []byte(v)) {
			s.secretHit[i] = true
		}
	}
	if eof {
		return
	}
	drop := min(s.resume[0], s.resume[1], cut, max(len(s.text)-max(s.keepLen-1, 0), 0))
	for drop > 0 && !utf8.RuneStart(s.text[drop]) {
		drop--
	}
	if drop <= 0 {
		return
	}
	r, _ := utf8.DecodeLastRune(s.text[:drop])
	s.prev = r
	s.text = append(s.text[:0], s.text[drop:]...)
	s.resume[0] -= drop
	s.resume[1] -= drop
}

// match finds rule i's matches that start before cut (later ones may
// still grow), leftmost first as Python's finditer, each starting at a
// word boundary.
func (s *secretScanner) match(i int, rule *secretRule, cut int) {
	for s.resume[i] < len(s.text) {
		loc := rule.find(s.text[s.resume[i]:], s.lower[s.resume[i]:], s.plain)
		if loc == nil || s.resume[i]+loc[0] >= cut {
			// Every match starting before cut is complete in text, so
			// none was missed before it; one from cut on may still grow
			// (or is not complete yet) and is looked for again.
			s.resume[i] = max(s.resume[i], cut)
			return
		}
		start, end := s.resume[i]+loc[0], s.resume[i]+loc[1]
		if isPyWord(s.runeBefore(start)) {
			_, size := utf8.DecodeRune(s.text[start:])
			s.resume[i] = start + size
			continue
		}
		s.found[i] = append(s.found[i], secretFinding{path: s.path, rule: "regex:" + rule.py, excerpt: firstRunes(s.text[start:end], 160)})
		s.resume[i] = end
	}
}

func (s *secretScanner) runeBefore(at int) rune {
	if at == 0 {
		return s.prev
	}
	r, _ := utf8.DecodeLastRune(s.text[:at])
	return r
}

func (s *secretScanner) result() []secretFinding {
	out := append(append([]secretFinding{}, s.found[0]...), s.found[1]...)
	for i, hit := range s.secretHit {
		if hit && s.secrets[i] != "" {
			out = append(out, secretFinding{path: s.path, rule: "env_secret_value_match", excerpt: "***redacted-secret-value***"})
		}
	}
	return out
}

// decode appends chunk to text as valid UTF-8 with universal newlines.
// Runs of ASCII other than \r are copied whole (the common case).
func (s *secretScanner) decode(chunk []byte, eof bool) {
	data := chunk
	if len(s.pending) > 0 {
		data = append(s.pending, chunk...)
		s.pending = nil
	}
	for len(data) > 0 {
		c := data[0]
		switch {
		case c == '\r':
			if s.pendingCR {
				s.text = append(s.text, '\n') // the previous \r stood alone
			}
			s.pendingCR = true
			data = data[1:]
			continue
		case c < utf8.RuneSelf:
			if s.pendingCR {
				s.pendingCR = false
				s.text = append(s.text, '\n')
				if c == '\n' {
					data = data[1:] // \r\n
					continue
				}
			}
			n := 1
			for n < len(data) && data[n] < utf8.RuneSelf && data[n] != '\r' {
				n++
			}
			s.text = append(s.text, data[:n]...)
			data = data[n:]
			continue
		}
		if !eof && !utf8.FullRune(data) {
			s.pending = append([]byte(nil), data...)
			break
		}
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			data = data[1:] // errors="ignore"
			continue
		}
		if s.pendingCR {
			s.pendingCR = false
			s.text = append(s.text, '\n')
		}
		s.text = append(s.text, data[:size]...)
		data = data[size:]
	}
	if eof && s.pendingCR {
		s.pendingCR = false
		s.text = append(s.text, '\n')
	}
}

// runsStart is the start of the n-th last run of non-whitespace in text
// (0 when there are fewer).
func runsStart(text []byte, n int) int {
	i := len(text)
	for n > 0 {
		for i > 0 {
			r, size := utf8.DecodeLastRune(text[:i])
			if !isPySpace(r) {
				break
			}
			i -= size
		}
		for i > 0 {
			r, size := utf8.DecodeLastRune(text[:i])
			if isPySpace(r) {
				break
			}
			i -= size
		}
		n--
		if i == 0 {
			return 0
		}
	}
	return i
}

func firstRunes(b []byte, n int) string {
	i := 0
	for k := 0; k < n && i < len(b); k++ {
		_, size := utf8.DecodeRune(b[i:])
		i += size
	}
	return string(b[:i])
}

// envSecretValues are the values of env file keys that name a secret, as
// the script takes them (a missing file gives none; one that cannot be
// read is an error).
func (e *evalEnv) envSecretValues(rel string) ([]string, error) {
	data, _, err := e.fs.ReadFile(rel, maxReportBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("env file %w", wrapRead(rel, err))
	}
	return parseEnvSecrets(data), nil
}

var placeholderSecrets = map[string]bool{"changeme": true, "example": true, "your_value_here": true, "xxxxx": true}

func parseEnvSecrets(data []byte) []string {
	var sc secretScanner
	sc.prev = -1
	sc.decode(data, true)
	var out []string
	for _, raw := range pySplitLines(string(sc.text)) {
		line := strings.TrimFunc(raw, isPySpace)
		if line == "" || strings.HasPrefix(line, "#") || !strings.Contains(line, "=") {
			continue
		}
		key, value, _ := strings.Cut(line, "=")
		key = strings.ToUpper(strings.TrimFunc(key, isPySpace))
		value = strings.Trim(strings.Trim(strings.TrimFunc(value, isPySpace), `"`), "'")
		if !strings.Contains(key, "KEY") && !strings.Contains(key, "SECRET") && !strings.Contains(key, "PASSPHRASE") &&
			!strings.Contains(key, "TOKEN") && !strings.Contains(key, "PASSWORD") {
			continue
		}
		if value != "" && !placeholderSecrets[strings.ToLower(value)] && utf8.RuneCountInString(value) >= 8 {
			out = append(out, value)
		}
	}
	return out
}

// pySplitLines is str.splitlines(): \n, \r, \r\n, \v, \f, \x1c-\x1e,
// \x85, \u2028 and \u2029 end a line.
func pySplitLines(s string) []string {
	var out []string
	start := 0
	for i, r := range s {
		switch r {
		case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			if r == '\n' && i > 0 && s[i-1] == '\r' {
				start = i + 1
				continue
			}
			out = append(out, s[start:i])
			start = i + utf8.RuneLen(r)
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
