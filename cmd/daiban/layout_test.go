package main_test

// The layout checks of DESIGN.md ("Layout"). They live here rather than
// at the root so that the root holds the product card and nothing else;
// they read the whole module from root.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const (
	module = "github.com/daiban/daiban"
	// root is the module's folder, seen from this package's.
	root = "../.."
)

// TestRootIsTheCard checks that the top level holds the product card's
// folders and nothing else (DESIGN.md, "Layout").
func TestRootIsTheCard(t *testing.T) {
	allowed := []string{"cmd", "cases", "ledger", "agreements", "policies", "sql", "web",
		"go.mod", "go.sum", "README.md", "error.go", "dev",
		"docs"} // docs/ops.md: the administrators' operations guide, linked from the README
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || name == "daiban" || name == "daiban-data" { // dotfiles, .ci; the built binary and its data (ignored by git)
			continue
		}
		if !slices.Contains(allowed, name) {
			t.Errorf("%s at the top level: every package lives under the card's folder whose domain it serves", name)
		}
	}
}

// goFile is one Go file of the module: its folder at the top level, its
// package directory and what it imports from the module.
type goFile struct {
	path, dir, folder string
	test              bool
	imports           []string
	file              *ast.File
	fset              *token.FileSet
}

func moduleFiles(t *testing.T) []goFile {
	t.Helper()
	var out []goFile
	err := filepath.WalkDir(root, func(full string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		p, err := filepath.Rel(root, full)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "daiban-data") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, full, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		g := goFile{path: p, dir: filepath.Dir(p), folder: strings.Split(p, "/")[0], test: strings.HasSuffix(p, "_test.go"), file: f, fset: fset}
		if g.dir == "." {
			g.folder = "."
		}
		for _, im := range f.Imports {
			ip, _ := strconv.Unquote(im.Path.Value)
			if rest, ok := strings.CutPrefix(ip, module+"/"); ok {
				g.imports = append(g.imports, rest)
			}
		}
		out = append(out, g)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// testHarness is the one package under cmd that other folders' tests may
// import: it runs the whole service on a private database.
const testHarness = "cmd/daiban/app/apptest"

// TestFolderArrowsOneWay checks that if anything under folder X imports
// from folder Y, nothing under Y imports from X, and that no domain
// imports web or cmd. Tests count too, except that a test may use the
// end-to-end harness.
func TestFolderArrowsOneWay(t *testing.T) {
	edges := map[[2]string][]string{} // folder pair → example files
	for _, f := range moduleFiles(t) {
		for _, ip := range f.imports {
			to := strings.Split(ip, "/")[0]
			if to == f.folder || f.folder == "." || f.test && ip == testHarness {
				continue
			}
			k := [2]string{f.folder, to}
			edges[k] = append(edges[k], f.path+" imports "+ip)
		}
	}
	for k, why := range edges {
		if back, ok := edges[[2]string{k[1], k[0]}]; ok && k[0] < k[1] {
			t.Errorf("folders %s and %s import each other: %s; %s", k[0], k[1], why[0], back[0])
		}
		if (k[1] == "web" || k[1] == "cmd") && k[0] != "cmd" {
			t.Errorf("%s imports %s: %s", k[0], k[1], why[0])
		}
	}
}

// TestFunctionLengths keeps every hand-written function at 80 lines or
// fewer; go test -v prints the five longest.
func TestFunctionLengths(t *testing.T) {
	type fn struct {
		name  string
		lines int
	}
	var fns []fn
	for _, f := range moduleFiles(t) {
		if f.test || ast.IsGenerated(f.file) {
			continue
		}
		for _, d := range f.file.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			start, end := f.fset.Position(fd.Pos()), f.fset.Position(fd.End())
			fns = append(fns, fn{name: f.path + ":" + strconv.Itoa(start.Line) + " " + fd.Name.Name, lines: end.Line - start.Line + 1})
		}
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].lines > fns[j].lines })
	if len(fns) < 100 {
		t.Fatalf("only %d functions found: is the walk reading the module?", len(fns))
	}
	for i, f := range fns[:5] {
		t.Logf("%d. %d lines  %s", i+1, f.lines, f.name)
	}
	for _, f := range fns {
		if f.lines > 80 {
			t.Errorf("%s is %d lines (at most 80)", f.name, f.lines)
		}
	}
}
