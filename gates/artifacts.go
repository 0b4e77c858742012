package gates

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/strictcycle/strictcycle/rootfs"
)

// EvidenceBundleID is the original's evidence_bundle_id: sha256 of Python's
// json.dumps({"critical_failures", "evidence_paths", "manifest_sha256",
// "status"}, sort_keys=True) with the default separators and ensure_ascii.
// paths must already be the sorted unique evidence paths; failures keep
// their order.
func EvidenceBundleID(status string, failures, paths []string, manifestSHA string) string {
	var b strings.Builder
	b.WriteString(`{"critical_failures": `)
	pyList(&b, failures)
	b.WriteString(`, "evidence_paths": `)
	pyList(&b, paths)
	b.WriteString(`, "manifest_sha256": `)
	pyString(&b, manifestSHA)
	b.WriteString(`, "status": `)
	pyString(&b, status)
	b.WriteString("}")
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

func pyList(b *strings.Builder, items []string) {
	b.WriteByte('[')
	for i, s := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		pyString(b, s)
	}
	b.WriteByte(']')
}

// pyString writes s as Python's json.dumps with ensure_ascii=True does.
func pyString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || r == 0x7f:
				fmt.Fprintf(b, `\u%04x`, r)
			case r < 0x7f:
				b.WriteRune(r)
			default:
				writeUEscape(b, r)
			}
		}
	}
	b.WriteByte('"')
}

// writeUEscape writes r as \uXXXX, or a surrogate pair beyond the BMP. An
// invalid byte (decoded as U+FFFD) is escaped as \ufffd.
func writeUEscape(b *strings.Builder, r rune) {
	if r > 0xffff {
		r1, r2 := utf16.EncodeRune(r)
		fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
		return
	}
	fmt.Fprintf(b, `\u%04x`, r)
}

// MarshalReport renders the report as the original writes it:
// json.dumps(indent=2) with ensure_ascii (non-ASCII as \uXXXX), no HTML
// escaping.
func MarshalReport(r *Report) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("marshal report: %w", err)
	}
	out := bytes.TrimRight(buf.Bytes(), "\n")
	return asciiEscape(out), nil
}

// asciiEscape escapes every byte sequence >= 0x7f. In JSON text such bytes
// only occur inside strings, so this is ensure_ascii.
func asciiEscape(data []byte) []byte {
	ascii := true
	for _, c := range data {
		if c >= 0x7f {
			ascii = false
			break
		}
	}
	if ascii {
		return data
	}
	var b strings.Builder
	b.Grow(len(data) + 64)
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r < 0x7f {
			b.WriteByte(data[0])
		} else {
			writeUEscape(&b, r)
		}
		data = data[size:]
	}
	return []byte(b.String())
}

// Markdown renders the original's summary (spec §3.3). Names, reasons and
// paths are escaped (Printable) so that none can start a line of its own.
// When checks were waived, a "- waived:" line follows the bundle id (the
// original has no waivers; without one the output is the original's).
func Markdown(r *Report) []byte {
	var b strings.Builder
	b.WriteString("# Promotion Gates Summary\n\n")
	fmt.Fprintf(&b, "- ts_utc: %s\n", Printable(r.TsUTC))
	fmt.Fprintf(&b, "- status: %s\n", Printable(r.Status))
	fmt.Fprintf(&b, "- critical_failures_count: %d\n", len(r.CriticalFailures))
	fmt.Fprintf(&b, "- evidence_bundle_id: %s\n", Printable(r.EvidenceBundle.EvidenceBundleID))
	if w := WaivedChecks(r.Checks); len(w) > 0 {
		fmt.Fprintf(&b, "- waived: %s\n", PrintableList(w))
	}
	b.WriteString("\n## Critical Failures\n")
	if len(r.CriticalFailures) == 0 {
		b.WriteString("- none\n")
	}
	for _, f := range r.CriticalFailures {
		fmt.Fprintf(&b, "- %s\n", Printable(f))
	}
	b.WriteString("\n## Checks\n")
	for _, c := range r.Checks {
		mark := "FAIL"
		if c.Pass {
			mark = "PASS"
		}
		fmt.Fprintf(&b, "- [%s] %s: %s\n", mark, Printable(c.Name), Printable(c.Reason))
	}
	b.WriteString("\n## Evidence Artifacts\n")
	for _, a := range r.EvidenceBundle.Artifacts {
		fmt.Fprintf(&b, "- %s (sha256=%s)\n", Printable(a.Path), Printable(a.SHA256))
	}
	return []byte(b.String())
}

// WaivedChecks names the checks whose verdict is waived, in check order.
func WaivedChecks(results []Result) []string {
	var out []string
	for _, r := range results {
		if r.Verdict == VerdictWaived {
			out = append(out, r.Name)
		}
	}
	return out
}

// Write writes promotion_gates_<stamp>.json|.md and latest.json|.md under
// outDir atomically (temp file + fsync + rename); stamps never collide. The
// stamp is the report's ts_utc (the evaluation time); when a file with that
// stamp exists, _2, _3, … is appended. The stamped JSON is claimed with a
// hard link, which fails rather than overwrite, so concurrent writers in the
// same second get distinct names.
//
// Every write goes through a rootfs.Root. When outDir lies under the
// report's stack root (the default reports/promotion_gates), that root is
// the stack root, so a symlinked reports/promotion_gates (or reports) that
// leads out of it is refused; an outDir elsewhere (an operator's --out) is
// its own root.
func Write(outDir string, r *Report) (*Artifacts, error) {
	if r == nil {
		return nil, errors.New("write artifacts: nil report")
	}
	js, err := MarshalReport(r)
	if err != nil {
		return nil, err
	}
	md := Markdown(r)
	root, dir, err := openOutDir(outDir, r.Root)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	t, err := time.Parse(time.RFC3339Nano, r.TsUTC)
	if err != nil {
		t = time.Now()
	}
	base := "promotion_gates_" + t.UTC().Format("20060102T150405Z")
	// Runs within one second share a stamp: the first free of base,
	// base_2, base_3, … is claimed (the JSON is written and synced once).
	stamped := func(i int) string {
		if i == 0 {
			return base + ".json"
		}
		return fmt.Sprintf("%s_%d.json", base, i+1)
	}
	rel, err := root.CreateFirstFree(dir, js, stamped, 10000)
	if err != nil {
		return nil, fmt.Errorf("write artifact %q: %w", filepath.Join(outDir, base+".json"), outErr(err))
	}
	name := strings.TrimSuffix(path.Base(rel), ".json")
	a := &Artifacts{
		JSON:       filepath.Join(outDir, name+".json"),
		Markdown:   filepath.Join(outDir, name+".md"),
		LatestJSON: filepath.Join(outDir, "latest.json"),
		LatestMD:   filepath.Join(outDir, "latest.md"),
	}
	for _, w := range []struct {
		rel  string
		data []byte
	}{{name + ".md", md}, {"latest.json", js}, {"latest.md", md}} {
		if err := root.WriteFile(path.Join(dir, w.rel), w.data); err != nil {
			return nil, fmt.Errorf("write artifact %q: %w", filepath.Join(outDir, w.rel), outErr(err))
		}
	}
	return a, nil
}

// openOutDir opens the root the artifacts are written through and the
// directory inside it: the stack root and outDir relative to it when outDir
// lies (lexically) under stackRoot, else outDir itself, created first.
func openOutDir(outDir, stackRoot string) (*rootfs.Root, string, error) {
	abs, err := filepath.Abs(outDir)
	if err != nil {
		return nil, "", fmt.Errorf("write artifacts to %q: %w", outDir, err)
	}
	if stackRoot != "" {
		if sr, err := filepath.Abs(stackRoot); err == nil {
			if rel, err := filepath.Rel(sr, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				root, err := rootfs.Open(sr)
				if err != nil {
					return nil, "", fmt.Errorf("write artifacts to %q: %w", outDir, err)
				}
				dir := filepath.ToSlash(rel)
				if err := root.MkdirAll(dir); err != nil {
					root.Close()
					return nil, "", fmt.Errorf("write artifacts to %q: %w", outDir, outErr(err))
				}
				return root, dir, nil
			}
		}
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, "", fmt.Errorf("write artifacts to %q: %w", outDir, err)
	}
	root, err := rootfs.Open(abs)
	if err != nil {
		return nil, "", fmt.Errorf("write artifacts to %q: %w", outDir, err)
	}
	return root, ".", nil
}

// outErr says "leads outside the stack root" for a refused symlink.
func outErr(err error) error {
	if rootfs.IsEscape(err) {
		return fmt.Errorf("%w: a symlink on the way leads outside the stack root", err)
	}
	return err
}
