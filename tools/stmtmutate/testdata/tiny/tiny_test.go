package tiny

import "testing"

func TestClamp(t *testing.T) {
	if got := Clamp(-3, 10); got != 0 {
		t.Fatalf("Clamp(-3, 10) = %d, want 0", got)
	}
	if got := Clamp(30, 10); got != 10 {
		t.Fatalf("Clamp(30, 10) = %d, want 10", got)
	}
}

func TestSum(t *testing.T) {
	if got := Sum(4); got != 10 {
		t.Fatalf("Sum(4) = %d, want 10", got)
	}
}
