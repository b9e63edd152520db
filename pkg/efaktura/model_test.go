package efaktura_test

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"

	"github.com/kp-efaktura/efaktura/pkg/efaktura"
)

// modelFill sets every field reachable from v: with full, each string gets
// a unique value, each pointer a value and each slice two elements; without
// full, strings stay empty, pointers get a value and slices one element.
func modelFill(v reflect.Value, full bool, n *int) {
	switch v.Kind() {
	case reflect.String:
		if full {
			*n++
			v.SetString(fmt.Sprintf("v%03d", *n))
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		modelFill(v.Elem(), full, n)
	case reflect.Slice:
		k := 1
		if full {
			k = 2
		}
		v.Set(reflect.MakeSlice(v.Type(), k, k))
		for i := range k {
			modelFill(v.Index(i), full, n)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			modelFill(v.Field(i), full, n)
		}
	default:
		panic("unexpected kind " + v.Kind().String())
	}
}

// modelElementPaths parses written output, one element per line with two spaces
// of indentation per level, and returns the absolute paths of the elements
// in the order of their first occurrence, plus the values of the leaves.
func modelElementPaths(t *testing.T, out []byte) (paths []string, values []string) {
	t.Helper()
	seen := map[string]bool{}
	var stack []string
	visit := func(name string) string {
		p := "/" + strings.Join(append(stack, name), "/")
		if !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
		return p
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for ln := 1; sc.Scan(); ln++ {
		line := sc.Text()
		if ln == 1 {
			continue // the declaration
		}
		body := strings.TrimLeft(line, " ")
		indent := len(line) - len(body)
		depth := len(stack)
		if strings.HasPrefix(body, "</") {
			depth--
		}
		if indent != 2*depth {
			t.Fatalf("line %d %q: indentation = %v, want %v", ln, line, indent, 2*depth)
		}
		switch {
		case strings.HasPrefix(body, "</"):
			stack = stack[:len(stack)-1]
		case strings.HasSuffix(body, "/>"):
			visit(strings.TrimSuffix(body[1:], "/>"))
		case strings.HasPrefix(body, "<INVOICES "):
			visit("INVOICES")
			stack = append(stack, "INVOICES")
		case strings.HasSuffix(body, ">") && !strings.Contains(body[1:], "<"):
			name := body[1 : len(body)-1]
			visit(name)
			stack = append(stack, name)
		default:
			end := strings.Index(body, ">")
			name := body[1:end]
			visit(name)
			values = append(values, strings.TrimSuffix(body[end+1:], "</"+name+">"))
		}
	}
	return paths, values
}

// modelSchemaPaths lists the element table's paths in document order; with
// requiredOnly, leaves with min_occurs 0 are left out (every group is kept).
func modelSchemaPaths(requiredOnly bool) []string {
	var paths []string
	var walk func(d *efaktura.ElementDef)
	walk = func(d *efaktura.ElementDef) {
		if !requiredOnly || d.Kind == efaktura.KindGroup || d.MinOccurs > 0 {
			paths = append(paths, d.Path)
		}
		for _, c := range d.Children {
			walk(c)
		}
	}
	walk(efaktura.DefaultSchema().Root)
	return paths
}

// The model mirrors the element table: with every field set, Write writes
// every element of the table, in table order, and every value exactly once.
// With every string empty, it writes exactly the N=1 leaves, as <X/>.
func TestModelMirrorsElementTable(t *testing.T) {
	tests := []struct {
		name string
		full bool
	}{
		{"every field set", true},
		{"every string empty", false},
	}
	for _, tt := range tests {
		var b efaktura.Bundle
		n := 0
		modelFill(reflect.ValueOf(&b).Elem(), tt.full, &n)
		if !tt.full {
			b.Documents[0].Header.Checksum = "" // computed either way
		}
		out, err := b.Bytes()
		if err != nil {
			t.Fatalf("Write(%s) error = %v", tt.name, err)
		}
		paths, values := modelElementPaths(t, out)
		want := modelSchemaPaths(!tt.full)
		if got, want := strings.Join(paths, "\n"), strings.Join(want, "\n"); got != want {
			t.Errorf("Write(%s) element paths = \n%v\nwant\n%v", tt.name, got, want)
		}
		if !tt.full {
			continue
		}
		count := map[string]int{}
		for _, v := range values {
			count[v]++
		}
		for i := 1; i <= n; i++ {
			v := fmt.Sprintf("v%03d", i)
			if count[v] != 1 {
				t.Errorf("Write(%s) occurrences of field value %q = %v, want %v", tt.name, v, count[v], 1)
			}
		}
	}
}

// Every exported type and field of model.go has a doc comment that names
// its element.
func TestModelDocComments(t *testing.T) {
	names := map[string]bool{}
	for _, p := range modelSchemaPaths(false) {
		names[p[strings.LastIndex(p, "/")+1:]] = true
	}
	namesElement := func(doc string) bool {
		for _, w := range strings.FieldsFunc(doc, func(r rune) bool { return !(r == '_' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') }) {
			if names[w] {
				return true
			}
		}
		return false
	}
	f, err := parser.ParseFile(token.NewFileSet(), "model.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.TYPE {
			continue
		}
		for _, spec := range g.Specs {
			ts := spec.(*ast.TypeSpec)
			if !ts.Name.IsExported() {
				continue
			}
			if doc := g.Doc.Text() + ts.Doc.Text(); !namesElement(doc) {
				t.Errorf("doc comment of type %s = %q, want one naming its element", ts.Name.Name, doc)
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, field := range st.Fields.List {
				for _, name := range field.Names {
					if doc := field.Doc.Text() + field.Comment.Text(); name.IsExported() && !namesElement(doc) {
						t.Errorf("doc comment of %s.%s = %q, want one naming its element", ts.Name.Name, name.Name, doc)
					}
				}
			}
		}
	}
}
