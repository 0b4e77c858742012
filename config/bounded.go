package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Bounds of a pass condition. A condition is written by the contract's
// author but runs inside the worker on every evaluation, so its cost is
// bounded twice: at load time no construct whose cost grows without bound
// is accepted (CheckBounded), and at run time every evaluation has a budget
// (ConditionEnv): at most MaxConditionSteps evaluations of predicate bodies
// (all, any, map, filter, ... nested or not), at most ConditionTimeout of
// wall time, and the expr VM's memory budget (ConditionMemoryBudget) for
// the arrays, maps and ranges it builds. A blown budget is an evaluation
// error, so the check is not a pass.
const (
	// MaxConditionSteps bounds the predicate body evaluations of one run.
	MaxConditionSteps = 1_000_000
	// ConditionTimeout bounds the wall time of one evaluation; it is
	// checked between predicate steps.
	ConditionTimeout = 2 * time.Second
	// MaxConditionNodes bounds the size of a condition's syntax tree.
	MaxConditionNodes = 200
	// MaxConditionRange bounds a range literal (1..N).
	MaxConditionRange = 1000
	// ConditionMemoryBudget is the expr VM's budget for one evaluation, in
	// its units (elements of the arrays, maps, ranges and loops it makes):
	// a tenth of expr's default, ample for reports listing hundreds of bots
	// or strategies, and small enough that a nested loop over a large
	// array stops in milliseconds.
	ConditionMemoryBudget = 100_000
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
	if strings.Contains(cond, budgetVar) {
		return fmt.Errorf("%s is reserved", budgetVar)
	}
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

// budgetVar is the variable holding the evaluation's budget; tickFunc is
// the function every predicate body is wrapped in (see ConditionOptions).
const (
	budgetVar = "__strictcycle_budget"
	tickFunc  = "__strictcycle_tick"
)

// ConditionBudget counts the steps and watches the deadline of one
// evaluation. It is not safe for concurrent use: one per evaluation.
type ConditionBudget struct {
	steps    int
	deadline time.Time
}

// ConditionEnv returns the environment one evaluation of a condition runs
// over: the report's fields and a fresh budget. A program compiled with
// ConditionOptions fails when run without it.
func ConditionEnv(obj map[string]any) map[string]any {
	env := make(map[string]any, len(obj)+1)
	for k, v := range obj {
		env[k] = v
	}
	env[budgetVar] = &ConditionBudget{deadline: time.Now().Add(ConditionTimeout)}
	return env
}

func (b *ConditionBudget) step() error {
	b.steps++
	if b.steps > MaxConditionSteps {
		return fmt.Errorf("condition budget exceeded: more than %d predicate steps", MaxConditionSteps)
	}
	if b.steps%16 == 0 && time.Now().After(b.deadline) {
		return fmt.Errorf("condition budget exceeded: ran longer than %s", ConditionTimeout)
	}
	return nil
}

// tick is the function wrapped around every predicate body: it spends one
// step of the budget and returns the body's value.
func tick(params ...any) (any, error) {
	if len(params) != 2 {
		return nil, errors.New("condition budget: bad call")
	}
	b, ok := params[0].(*ConditionBudget)
	if !ok {
		return nil, errors.New("condition budget: evaluated without a budget")
	}
	if err := b.step(); err != nil {
		return nil, err
	}
	return params[1], nil
}

// budgetPatcher wraps every predicate body p as tick(budget, p).
type budgetPatcher struct{}

func (budgetPatcher) Visit(node *ast.Node) {
	p, ok := (*node).(*ast.PredicateNode)
	if !ok {
		return
	}
	if c, ok := p.Node.(*ast.CallNode); ok {
		if id, ok := c.Callee.(*ast.IdentifierNode); ok && id.Value == tickFunc {
			return // already wrapped
		}
	}
	p.Node = &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: tickFunc},
		Arguments: []ast.Node{&ast.IdentifierNode{Value: budgetVar}, p.Node},
	}
}
