// Package tiny is a package under mutation in the tests of stmtmutate.
package tiny

// Clamp returns v limited to [0, max].
func Clamp(v, max int) int {
	if v < 0 {
		return 0
	}
	if v > max {
		return max
	}
	return v
}

// Sum adds 1..n.
func Sum(n int) int {
	s := 0
	for i := 1; i <= n; i++ {
		s += i
	}
	return s
}

// Untested is covered by no test: its mutants survive.
func Untested(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}
