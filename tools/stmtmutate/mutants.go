package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"sort"
	"strings"
)

// Operator names. Each one is a statement-level change that a
// condition/arithmetic mutator (gremlins) does not make.
const (
	OpRemoveCall        = "remove-call"         // an expression statement (a call) or a defer removed
	OpRemoveAssign      = "remove-assign"       // an assignment (=, op=, ++, --) to a field or variable removed
	OpDropCase          = "drop-case"           // a case clause of a switch removed
	OpDropCaseValue     = "drop-case-value"     // one value of a multi-value case removed
	OpRemoveEarlyReturn = "remove-early-return" // an `if … { …; return|continue|break }` made never to fire
	OpNegateIf          = "negate-if"           // an if condition that is not a comparison negated
	OpZeroField         = "zero-field"          // `Field: x` in a composite literal removed (zero value)
	OpFlipBool          = "flip-bool"           // a true/false literal flipped
)

// Operators lists every operator in the order mutants are generated.
var Operators = []string{
	OpRemoveCall, OpRemoveAssign, OpDropCase, OpDropCaseValue,
	OpRemoveEarlyReturn, OpNegateIf, OpZeroField, OpFlipBool,
}

// Mutant is one changed copy of one file.
type Mutant struct {
	File     string // path as given on the command line (relative to the module root)
	Line     int
	Op       string
	Func     string // enclosing function, "Recv.Name" for methods
	Original string // the source line, trimmed
	Change   string // what changed: "old → new", "old → (removed)"
	Src      []byte // the whole mutated file
}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
	op         string
	fn         string
}

// Generate returns the mutants of one Go file. Only functions whose name
// (or "Recv.Name") matches funcFilter are mutated; nil matches all. A
// mutant whose source does not parse is dropped.
func Generate(file string, src []byte, ops map[string]bool, funcFilter *regexp.Regexp) ([]Mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", file, err)
	}
	off := func(p token.Pos) int { return fset.Position(p).Offset }
	text := func(n ast.Node) string { return string(src[off(n.Pos()):off(n.End())]) }

	var edits []edit
	elseIf := map[*ast.IfStmt]bool{} // an `else if` cannot be removed, only disabled
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		name := funcName(fd)
		if funcFilter != nil && !funcFilter.MatchString(name) && !funcFilter.MatchString(fd.Name.Name) {
			continue
		}
		add := func(op string, start, end token.Pos, repl string) {
			if ops != nil && !ops[op] {
				return
			}
			edits = append(edits, edit{start: off(start), end: off(end), text: repl, op: op, fn: name})
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ExprStmt:
				if c, ok := n.X.(*ast.CallExpr); ok && !isLogCall(c) {
					add(OpRemoveCall, n.Pos(), n.End(), "")
				}
			case *ast.DeferStmt:
				add(OpRemoveCall, n.Pos(), n.End(), "")
			case *ast.AssignStmt:
				if n.Tok != token.DEFINE && !allBlank(n.Lhs) {
					add(OpRemoveAssign, n.Pos(), n.End(), "")
				}
			case *ast.IncDecStmt:
				add(OpRemoveAssign, n.Pos(), n.End(), "")
			case *ast.SwitchStmt:
				caseEdits(n.Body, add, src, off)
			case *ast.TypeSwitchStmt:
				caseEdits(n.Body, add, src, off)
			case *ast.IfStmt:
				if e, ok := n.Else.(*ast.IfStmt); ok {
					elseIf[e] = true
				}
				if n.Else == nil && endsInExit(n.Body) {
					if n.Init == nil && !elseIf[n] {
						add(OpRemoveEarlyReturn, n.Pos(), n.End(), "")
					} else {
						add(OpRemoveEarlyReturn, n.Cond.Pos(), n.Cond.End(), "false && ("+text(n.Cond)+")")
					}
				}
				if !isComparison(n.Cond) {
					add(OpNegateIf, n.Cond.Pos(), n.Cond.End(), "!("+text(n.Cond)+")")
				}
			case *ast.CompositeLit:
				for _, e := range n.Elts {
					kv, ok := e.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					if _, ok := kv.Key.(*ast.Ident); !ok || isZeroLiteral(kv.Value) {
						continue
					}
					end := off(kv.End())
					if i := skipSpace(src, end); i < len(src) && src[i] == ',' {
						end = i + 1
					}
					if ops == nil || ops[OpZeroField] {
						edits = append(edits, edit{start: off(kv.Pos()), end: end, op: OpZeroField, fn: name})
					}
				}
			case *ast.Ident:
				if n.Obj == nil && (n.Name == "true" || n.Name == "false") {
					add(OpFlipBool, n.Pos(), n.End(), map[string]string{"true": "false", "false": "true"}[n.Name])
				}
			}
			return true
		})
	}

	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	lines := bytes.Split(src, []byte("\n"))
	var out []Mutant
	for _, e := range edits {
		m := make([]byte, 0, len(src)+len(e.text))
		m = append(m, src[:e.start]...)
		m = append(m, e.text...)
		m = append(m, src[e.end:]...)
		if _, err := parser.ParseFile(token.NewFileSet(), file, m, parser.SkipObjectResolution); err != nil {
			continue
		}
		line := bytes.Count(src[:e.start], []byte("\n")) + 1
		repl := e.text
		if repl == "" {
			repl = "(removed)"
		}
		out = append(out, Mutant{
			File:     file,
			Line:     line,
			Op:       e.op,
			Func:     e.fn,
			Original: strings.TrimSpace(string(lines[line-1])),
			Change:   compact(string(src[e.start:e.end])) + " → " + compact(repl),
			Src:      m,
		})
	}
	return out, nil
}

// caseEdits adds a drop-case mutant per clause and a drop-case-value
// mutant per value of a clause with several values.
func caseEdits(body *ast.BlockStmt, add func(string, token.Pos, token.Pos, string), src []byte, off func(token.Pos) int) {
	for _, s := range body.List {
		cc, ok := s.(*ast.CaseClause)
		if !ok {
			continue
		}
		add(OpDropCase, cc.Pos(), cc.End(), "")
		if len(cc.List) < 2 {
			continue
		}
		for i := range cc.List {
			var keep []string
			for j, e := range cc.List {
				if j != i {
					keep = append(keep, string(src[off(e.Pos()):off(e.End())]))
				}
			}
			add(OpDropCaseValue, cc.List[0].Pos(), cc.List[len(cc.List)-1].End(), strings.Join(keep, ", "))
		}
	}
}

func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
			continue
		case *ast.IndexExpr:
			t = x.X
			continue
		case *ast.IndexListExpr:
			t = x.X
			continue
		case *ast.Ident:
			return x.Name + "." + fd.Name.Name
		}
		return fd.Name.Name
	}
}

func allBlank(lhs []ast.Expr) bool {
	for _, e := range lhs {
		if id, ok := e.(*ast.Ident); !ok || id.Name != "_" {
			return false
		}
	}
	return true
}

// endsInExit reports whether a block's last statement leaves it early:
// return, continue, break or goto.
func endsInExit(b *ast.BlockStmt) bool {
	if len(b.List) == 0 {
		return false
	}
	switch b.List[len(b.List)-1].(type) {
	case *ast.ReturnStmt, *ast.BranchStmt:
		return true
	}
	return false
}

// isComparison reports whether e is a comparison, which gremlins already
// negates (CONDITIONALS_NEGATION).
func isComparison(e ast.Expr) bool {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			break
		}
		e = p.X
	}
	b, ok := e.(*ast.BinaryExpr)
	if !ok {
		return false
	}
	switch b.Op {
	case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ:
		return true
	}
	return false
}

// isZeroLiteral reports whether removing `Key: e` changes nothing.
func isZeroLiteral(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name == "nil" || x.Name == "false"
	case *ast.BasicLit:
		return x.Value == "0" || x.Value == `""` || x.Value == "``" || x.Value == "0.0"
	}
	return false
}

func skipSpace(src []byte, i int) int {
	for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
		i++
	}
	return i
}

// isLogCall reports whether c is logger.Info(...) and the like: removing
// a log line changes no outcome, so it is not a mutant worth a test.
func isLogCall(c *ast.CallExpr) bool {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	switch sel.Sel.Name {
	case "Debug", "Info", "Warn", "Error":
	default:
		return false
	}
	var recv string
	switch x := sel.X.(type) {
	case *ast.Ident:
		recv = x.Name
	case *ast.CallExpr: // activity.GetLogger(ctx).Info(...)
		if s, ok := x.Fun.(*ast.SelectorExpr); ok {
			recv = s.Sel.Name
		}
	case *ast.SelectorExpr:
		recv = x.Sel.Name
	}
	return strings.Contains(strings.ToLower(recv), "log")
}

// compact returns s on one line, at most 72 characters.
func compact(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 72 {
		s = string(r[:69]) + "..."
	}
	return s
}
