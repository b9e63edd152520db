package efaktura

import (
	"iter"
	"strconv"
	"strings"
)

// Document is one DOCUMENT of a bundle, held as a compact tree. Rules read it
// through [Element] handles. A Document is immutable once read.
type Document struct {
	Index  int // 1-based position in the bundle
	nodes  []node
	values string // the decoded values of all leaves, back to back
	// truncated is set when the document had more elements than the reader
	// keeps; the rest was checked for well-formedness only.
	truncated bool
	raw       []byte
}

// Raw returns the DOCUMENT element as it stood in the file, from its start
// tag to its end tag, in ISO-8859-1, when Options.KeepRaw was set; nil
// otherwise. [ValidateDocument] takes it.
func (d *Document) Raw() []byte { return d.raw }

// node is one element. It is kept at 56 bytes: a document of 9999 lines has
// some 200 000 of them. The last child, needed only while the tree is built,
// is the reader's frame's, and a kept value is at most maxValueBytes long.
type node struct {
	name   string
	def    *ElementDef // nil for an element the table does not define here
	parent int32
	first  int32 // first child, or -1
	next   int32 // next sibling, or -1
	occ    int32 // 1-based occurrence among same-name siblings
	valOff int32 // value: values[valOff:valOff+valLen]
	chars  int32 // characters in the value, including any beyond the kept prefix
	// line and col are where the start tag's '<' stands, 1-based, in what
	// the reader was given.
	line, col int32
	valLen    uint16
	flags     nodeFlags
}

type nodeFlags uint8

const (
	hasElements nodeFlags = 1 << iota // child elements (kept unless skipped)
	hasText                           // characters other than indentation
	hasAttrs
	skipped // children were not kept: unknown element or a leaf holding elements
)

// Element is a handle on one element of a [Document]. The zero Element stands
// for an absent element: its methods return zero values, so lookups chain
// without checks, e.g. d.Root().Child("PAYMENT_MEANS").Child("FIK").
type Element struct {
	doc *Document
	i   int32
}

// Root returns the DOCUMENT element.
func (d *Document) Root() Element { return Element{d, 0} }

// Exists reports whether the element is present.
func (e Element) Exists() bool { return e.doc != nil }

func (e Element) n() *node { return &e.doc.nodes[e.i] }

// Name returns the tag name.
func (e Element) Name() string {
	if e.doc == nil {
		return ""
	}
	return e.n().name
}

// Def returns the element's row in the element table, or nil.
func (e Element) Def() *ElementDef {
	if e.doc == nil {
		return nil
	}
	return e.n().def
}

// Value returns the decoded text of a leaf element ("" when absent or empty).
// Values longer than the reader keeps are cut; [Element.Chars] has the length.
func (e Element) Value() string {
	if e.doc == nil {
		return ""
	}
	n := e.n()
	return e.doc.values[n.valOff : n.valOff+int32(n.valLen)]
}

// Position returns the line and column of the element's start tag (its
// '<'), 1-based, the column counted in characters: in the file as
// [Validate] read it (the XML inside a ZIP archive), or in the DOCUMENT
// element as [ValidateDocument] was given it, whose start tag is then line 1,
// column 1. Both are 0 for an absent element.
func (e Element) Position() (line, column int) {
	if e.doc == nil {
		return 0, 0
	}
	n := e.n()
	return int(n.line), int(n.col)
}

// Chars returns the number of characters of the value.
func (e Element) Chars() int {
	if e.doc == nil {
		return 0
	}
	return int(e.n().chars)
}

// Filled reports whether the element is filled in the sense of section 1.6:
// a leaf with at least one character, or a present group.
func (e Element) Filled() bool {
	if e.doc == nil {
		return false
	}
	if d := e.n().def; d != nil && d.Kind == KindGroup {
		return true
	}
	return e.n().chars > 0
}

// Parent returns the enclosing element; the DOCUMENT element has none.
func (e Element) Parent() Element {
	if e.doc == nil || e.i == 0 {
		return Element{}
	}
	return Element{e.doc, e.n().parent}
}

// Child returns the first child called name.
func (e Element) Child(name string) Element {
	if e.doc == nil {
		return Element{}
	}
	// A plain loop rather than Children: rules look children up by name
	// several times per element, and the iterator's calls showed.
	for c := e.n().first; c >= 0; c = e.doc.nodes[c].next {
		if e.doc.nodes[c].name == name {
			return Element{e.doc, c}
		}
	}
	return Element{}
}

// Find follows a relative path of child names, e.g. "AMOUNT/NET_PRICE",
// taking the first match at each step.
func (e Element) Find(path string) Element {
	for {
		name, rest, more := strings.Cut(path, "/")
		e = e.Child(name)
		if !more {
			return e
		}
		path = rest
	}
}

// Children yields the child elements in document order.
func (e Element) Children() iter.Seq[Element] {
	return func(yield func(Element) bool) {
		if e.doc == nil {
			return
		}
		for c := e.n().first; c >= 0; c = e.doc.nodes[c].next {
			if !yield(Element{e.doc, c}) {
				return
			}
		}
	}
}

// All yields the children called name in document order.
func (e Element) All(name string) iter.Seq[Element] {
	return func(yield func(Element) bool) {
		for c := range e.Children() {
			if c.n().name == name && !yield(c) {
				return
			}
		}
	}
}

// Path returns the element's absolute path with 1-based indexes on
// repeatable elements and on any repeated occurrence, e.g.
// /INVOICES/DOCUMENT[2]/LINE[3]/AMOUNT/NET_PRICE.
func (e Element) Path() string {
	if e.doc == nil {
		return ""
	}
	var parts []string
	for x := e; ; x = x.Parent() {
		n := x.n()
		part := n.name
		if x.i == 0 {
			part = "DOCUMENT[" + strconv.Itoa(x.doc.Index) + "]"
		} else if n.occ > 1 || n.def != nil && n.def.MaxOccurs > 1 {
			part += "[" + strconv.Itoa(int(n.occ)) + "]"
		}
		parts = append(parts, part)
		if x.i == 0 {
			break
		}
	}
	var b strings.Builder
	b.WriteString("/INVOICES")
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String()
}

// ChildPath is the path a missing child called name would have.
func (e Element) ChildPath(name string) string { return e.Path() + "/" + name }
