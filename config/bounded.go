package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Bounds of a pass condition. A condition is written by the contract's
// author but runs inside the worker on every evaluation, so what it may
// allocate is bounded twice: at load time no construct whose cost grows
// without bound is accepted (CheckBounded), and at run time the engine gives
// the expr VM a memory budget (ConditionMemoryBudget) that stops a loop over
// too many elements with an error, which is a not-pass verdict.
const (
	// MaxConditionNodes bounds the size of a condition's syntax tree.
	MaxConditionNodes = 200
	// MaxConditionRange bounds a range literal (1..N).
	MaxConditionRange = 1000
	// ConditionMemoryBudget is the expr VM's budget for one evaluation, in
	// its units (elements of the arrays, maps, ranges and loops it makes).
	ConditionMemoryBudget = 1 << 20
)

// boundedBuiltins are the builtins a condition may call: each costs at most
// a pass over its argument. Left out: reduce (an accumulator can double at
// every step), repeat, join, split, replace, sprintf-like and JSON/base64
// encoders (output larger than the input), sort/groupBy/concat/flatten,
// and now/date (a condition must not depend on the wall clock).
var boundedBuiltins = []string{
	"all", "any", "none", "one", "filter", "map", "count", "sum",
	"find", "findIndex", "findLast", "findLastIndex",
	"len", "type", "abs", "ceil", "floor", "round", "int", "float", "string",
	"trim", "trimPrefix", "trimSuffix", "upper", "lower",
	"indexOf", "lastIndexOf", "hasPrefix", "hasSuffix",
	"max", "min", "mean", "median", "first", "last", "get",
}

// allocating are the builtins and operators that build a new string as
// large as their inputs: fine once, refused inside a predicate, which runs
// them once per element.
var allocating = []string{"string", "trim", "trimPrefix", "trimSuffix", "upper", "lower", "+"}

// CheckBounded refuses a condition whose evaluation cost is not bounded by
// the size of the report and of the condition itself: a builtin outside
// boundedBuiltins, a function call, a variable declaration (a chain of them
// doubles a string at each step), a range literal that is not two integer
// literals at most MaxConditionRange apart, a string concatenation or
// string builtin inside a predicate, and a `matches` whose pattern is not a
// literal.
func CheckBounded(cond string) error {
	tree, err := parser.Parse(cond)
	if err != nil {
		// The compiler reports it with its position.
		return nil
	}
	// ast.Walk visits children before their parents, so a visitor cannot
	// see its ancestors: the nodes inside predicate bodies are marked first.
	inPred := &predicateMarker{in: map[ast.Node]bool{}}
	ast.Walk(&tree.Node, inPred)
	v := &boundsVisitor{inPred: inPred.in}
	ast.Walk(&tree.Node, v)
	return v.err()
}

type predicateMarker struct{ in map[ast.Node]bool }

func (m *predicateMarker) Visit(node *ast.Node) {
	if p, ok := (*node).(*ast.PredicateNode); ok {
		ast.Walk(&p.Node, markAll(m.in))
	}
}

type markAll map[ast.Node]bool

func (m markAll) Visit(node *ast.Node) { m[*node] = true }

type boundsVisitor struct {
	inPred map[ast.Node]bool
	// builtin holds the refused builtins, other the other problems: the
	// builtin (reduce, repeat) is the root cause and is named first.
	builtin, other []string
}

func (v *boundsVisitor) err() error {
	all := append(v.builtin, v.other...)
	if len(all) == 0 {
		return nil
	}
	return errors.New(strings.Join(all, "; "))
}

func (v *boundsVisitor) fail(format string, args ...any) {
	if msg := fmt.Sprintf(format, args...); !slices.Contains(v.other, msg) {
		v.other = append(v.other, msg)
	}
}

func (v *boundsVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BuiltinNode:
		if !slices.Contains(boundedBuiltins, n.Name) {
			if msg := fmt.Sprintf("builtin %s() is not allowed in a condition (its cost is not bounded by the report)", n.Name); !slices.Contains(v.builtin, msg) {
				v.builtin = append(v.builtin, msg)
			}
		}
		if slices.Contains(allocating, n.Name) && v.inPred[n] {
			v.fail("builtin %s() is not allowed inside a predicate (it allocates once per element)", n.Name)
		}
	case *ast.CallNode:
		v.fail("function calls are not allowed in a condition")
	case *ast.VariableDeclaratorNode:
		v.fail("let is not allowed in a condition")
	case *ast.BinaryNode:
		switch n.Operator {
		case "..":
			lo, lok := n.Left.(*ast.IntegerNode)
			hi, hok := n.Right.(*ast.IntegerNode)
			if !lok || !hok {
				v.fail("a range needs integer literal bounds")
			} else if hi.Value-lo.Value+1 > MaxConditionRange {
				v.fail("range %d..%d has more than %d elements", lo.Value, hi.Value, MaxConditionRange)
			}
		case "+":
			if v.inPred[n] {
				v.fail("+ is not allowed inside a predicate (a string concatenation allocates once per element)")
			}
		case "matches":
			if _, ok := n.Right.(*ast.StringNode); !ok {
				v.fail("matches needs a string literal pattern")
			}
		}
	}
}
