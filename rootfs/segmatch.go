package rootfs

import (
	"path"
	"strings"
)

// segMatcher is one segment of a glob pattern, compiled once per glob so
// that a directory of thousands of names is matched without re-reading the
// pattern for each name. It matches exactly as path.Match(pat, name) does
// (a malformed segment matches nothing), for names without a '/' (a
// directory entry's name never has one); "**" is handled by the walk.
type segMatcher struct {
	pat            string
	kind           segKind
	prefix, suffix string
}

type segKind uint8

const (
	segGeneral  segKind = iota // path.Match
	segLiteral                 // no wildcard: equal bytes
	segStar                    // one '*' and no other wildcard: prefix and suffix
	segStarStar                // "**": any number of segments (the walk's rule)
)

func compileSeg(pat string) segMatcher {
	switch {
	case pat == "**":
		return segMatcher{pat: pat, kind: segStarStar}
	case !hasMeta(pat):
		return segMatcher{pat: pat, kind: segLiteral}
	}
	star := strings.IndexByte(pat, '*')
	if star >= 0 && strings.IndexByte(pat[star+1:], '*') < 0 && !strings.ContainsAny(pat, `?[\`) {
		return segMatcher{pat: pat, kind: segStar, prefix: pat[:star], suffix: pat[star+1:]}
	}
	return segMatcher{pat: pat, kind: segGeneral}
}

func compileSegs(pats []string) []segMatcher {
	out := make([]segMatcher, len(pats))
	for i, p := range pats {
		out[i] = compileSeg(p)
	}
	return out
}

// match is path.Match(m.pat, name) without its error: a malformed pattern
// matches nothing. A "**" segment matches like "*" here (one segment).
func (m *segMatcher) match(name string) bool {
	switch m.kind {
	case segLiteral:
		return name == m.pat
	case segStar:
		return len(name) >= len(m.prefix)+len(m.suffix) && strings.HasPrefix(name, m.prefix) && strings.HasSuffix(name, m.suffix)
	}
	ok, err := path.Match(m.pat, name)
	return err == nil && ok
}

// matchCompiled matches path segments against compiled pattern segments,
// with the rules of matchSegs.
func matchCompiled(pat []segMatcher, name []string) bool {
	if len(pat) == 0 {
		return len(name) == 0
	}
	if pat[0].kind == segStarStar {
		for k := 0; k <= len(name); k++ {
			if matchCompiled(pat[1:], name[k:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 || !pat[0].match(name[0]) {
		return false
	}
	return matchCompiled(pat[1:], name[1:])
}

// canMatchBelowCompiled is canMatchBelow on compiled segments.
func canMatchBelowCompiled(pat []segMatcher, dir []string) bool {
	for i, d := range dir {
		if i >= len(pat) {
			return false
		}
		if pat[i].kind == segStarStar {
			return true
		}
		if !pat[i].match(d) {
			return false
		}
	}
	return len(pat) > len(dir)
}
