package datanode

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// slotLockers are the functions that may lock a store slot directly: the
// helpers the rest go through (txlock.go) and Server.lockKeys, which the
// client's lockKeys wraps.
var slotLockers = map[string]bool{
	"lock": true, "unlock": true, "holdSlots": true, "lockHeld": true, "extendHeld": true, "releaseSlots": true, "lockKeys": true, "release": true,
}

// TestArchitectureSlotLocking checks that commands lock slots through
// c.lock, c.unlock and c.lockKeys only. A command that called the slot's
// Lock directly would deadlock its own connection inside EXEC, which holds
// the slots of the transaction's keys (txlock.go). Slots are recognised by
// how they are obtained (keySlot, Store.Slot) or declared (*store.Slot).
func TestArchitectureSlotLocking(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil || slotLockers[fn.Name.Name] {
				continue
			}
			slots := slotVariables(fn)
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Lock" && sel.Sel.Name != "Unlock") {
					return true
				}
				id, isIdent := sel.X.(*ast.Ident)
				if (isIdent && slots[id.Name]) || isSlotCall(sel.X) {
					t.Errorf("%s: %s locks a store slot directly; use c.lock / c.unlock (or c.lockKeys), which EXEC makes re-entrant",
						fset.Position(call.Pos()), fn.Name.Name)
				}
				return true
			})
		}
	}
}

// slotVariables returns the names in fn that hold store slots: parameters
// of type *store.Slot and variables assigned from keySlot or Slot calls.
func slotVariables(fn *ast.FuncDecl) map[string]bool {
	vars := map[string]bool{}
	for _, field := range fn.Type.Params.List {
		if star, ok := field.Type.(*ast.StarExpr); ok {
			if sel, ok := star.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "Slot" {
				for _, n := range field.Names {
					vars[n.Name] = true
				}
			}
		}
	}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != len(as.Rhs) {
			return true
		}
		for i, rhs := range as.Rhs {
			if id, ok := as.Lhs[i].(*ast.Ident); ok && isSlotCall(rhs) {
				vars[id.Name] = true
			}
		}
		return true
	})
	return vars
}

// isSlotCall reports whether e is a call of a method named keySlot or Slot.
func isSlotCall(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	return ok && (sel.Sel.Name == "keySlot" || sel.Sel.Name == "Slot")
}
