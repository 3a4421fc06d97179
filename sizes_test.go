package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// The size rule (issue #9): a file holds one subject, a function reads as
// one sequence. Tables — composite literals longer than tableLines, such
// as test vectors, flag lists or generated descriptions — do not count
// against a function, since they are read row by row, not as logic.
const (
	maxFileLines = 700
	maxFuncLines = 120
	tableLines   = 20
)

// sizeExempt are functions over the limit whose split is under way on
// another branch. An entry that is no longer needed fails the test, so the
// list only shrinks; it is empty now.
var sizeExempt = map[string]string{}

// TestSizes checks every Go file of the module: no file over maxFileLines
// lines, except generated ones (a "// Code generated" header, such as
// manifest/explain_docs.go, which is data); no function over maxFuncLines
// lines once its tables are left out. Test files are held to both rules:
// a test over the limit wants named steps or a table as much as code does.
func TestSizes(t *testing.T) {
	used := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != "." && (n == "testdata" || n == "vendor" || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		if n := fset.File(f.Pos()).LineCount(); n > maxFileLines && !ast.IsGenerated(f) {
			t.Errorf("%s: %d lines (at most %d): split it by subject", path, n, maxFileLines)
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			n := funcLines(fset, fd)
			if n <= maxFuncLines {
				continue
			}
			key := filepath.ToSlash(path) + " " + fd.Name.Name
			if sizeExempt[key] != "" {
				used[key] = true
				continue
			}
			t.Errorf("%s: func %s is %d lines without its tables (at most %d): name its stages", fset.Position(fd.Pos()), fd.Name.Name, n, maxFuncLines)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for key, why := range sizeExempt {
		if !used[key] {
			t.Errorf("sizeExempt lists %s (%s), which is now within the limit: remove the entry", key, why)
		}
	}
}

// funcLines is a function's line span less the lines of the composite
// literals in it that span more than tableLines lines (the outermost
// ones; a table nested in a table is counted once).
func funcLines(fset *token.FileSet, fd *ast.FuncDecl) int {
	lines := func(n ast.Node) int { return fset.Position(n.End()).Line - fset.Position(n.Pos()).Line + 1 }
	n := lines(fd)
	ast.Inspect(fd.Body, func(node ast.Node) bool {
		cl, ok := node.(*ast.CompositeLit)
		if !ok {
			return true
		}
		if l := lines(cl); l > tableLines {
			n -= l
			return false
		}
		return true
	})
	return n
}
