package rootfs

import (
	"path"
	"strings"
)

// MatchPath reports whether the slash-separated, root-relative name matches
// pattern with the rules of Glob: "**" spans any number of directories and
// every other segment follows path.Match. It lets a caller test a single
// path (a file event) against the patterns it globs, with the same matcher.
func MatchPath(pattern, name string) bool {
	pattern = strings.TrimPrefix(path.Clean(pattern), "./")
	name = strings.TrimPrefix(path.Clean(name), "./")
	return matchSegs(strings.Split(pattern, "/"), strings.Split(name, "/"))
}
