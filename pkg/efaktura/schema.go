package efaktura

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// The element table of the reference (shared/spec/efaktura-2.1.0-elements.csv),
// copied in so the library never reads outside itself. Much of it is
// reconstructed; it is data, not code, so the official XSD can replace it.
//
//go:embed data/efaktura-2.1.0-elements.csv
var elementsCSV []byte

// Kind is the data type of an element.
type Kind string

// The kinds of the element table's type column.
const (
	KindText    Kind = "text"
	KindDecimal Kind = "decimal"
	KindDate    Kind = "date"
	KindGroup   Kind = "group" // a sub-level
)

// Usage is the C/M/D column: conditional, mandatory or dependent.
type Usage byte

// The usages of section 1.8.
const (
	Conditional Usage = 'C'
	Mandatory   Usage = 'M'
	Dependent   Usage = 'D'
)

// ElementDef is one row of the element table.
type ElementDef struct {
	Path      string // absolute, e.g. /INVOICES/DOCUMENT/LINE/AMOUNT/NET_PRICE
	Name      string
	Kind      Kind
	MaxLength int // text: characters (0 = must be empty); decimal: digits before the comma
	Decimals  int // decimal: digits after the comma
	Usage     Usage
	MinOccurs int
	MaxOccurs int
	// DependsOn is the element a D element depends on; with DependsValues
	// empty the condition is "DependsOn is filled" (a group: present),
	// otherwise "DependsOn's value is one of DependsValues".
	DependsOn     *ElementDef
	DependsValues []string
	ChoiceTable   string // VT6, VT8, VT9, R1-R4, ISO3166-1-A2 or ISO4217
	Status        string // SEEN or RECONSTRUCTED
	Parent        *ElementDef
	Children      []*ElementDef // in document order
	pos           int           // index in Parent.Children
	childByName   map[string]*ElementDef
	// elsewhere is set when checkedElsewhere names the element: known at
	// load, so V12-V17 need no map lookup per element.
	elsewhere bool
}

// Child returns the definition of the child called name, or nil.
func (d *ElementDef) Child(name string) *ElementDef { return d.childByName[name] }

// Schema is a parsed element table.
type Schema struct {
	Root   *ElementDef
	byPath map[string]*ElementDef
}

// Lookup returns the definition at an absolute path, or nil.
func (s *Schema) Lookup(path string) *ElementDef { return s.byPath[path] }

// ErrSchema is wrapped by every error of [ParseSchema].
var ErrSchema = errors.New("efaktura: invalid element table")

// ParseSchema reads an element table in the CSV layout of the reference's
// Appendix A (header: path,type,max_length,decimals,usage,min_occurs,
// max_occurs,depends_on,choice_table,status). Parents must precede children.
func ParseSchema(r io.Reader) (*Schema, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 10
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSchema, err)
	}
	if len(rows) < 2 || strings.Join(rows[0], ",") != "path,type,max_length,decimals,usage,min_occurs,max_occurs,depends_on,choice_table,status" {
		return nil, fmt.Errorf("%w: unexpected header", ErrSchema)
	}
	s := &Schema{byPath: make(map[string]*ElementDef, len(rows))}
	type dep struct {
		def  *ElementDef
		spec string
	}
	var deps []dep
	for i, row := range rows[1:] {
		line := i + 2
		d := &ElementDef{Path: row[0], Kind: Kind(row[1]), ChoiceTable: row[8], Status: row[9]}
		d.Name = d.Path[strings.LastIndexByte(d.Path, '/')+1:]
		switch d.Kind {
		case KindText, KindDecimal, KindDate, KindGroup:
		default:
			return nil, fmt.Errorf("%w: line %d: unknown type %q", ErrSchema, line, row[1])
		}
		ints := []struct {
			dst  *int
			text string
		}{{&d.MaxLength, row[2]}, {&d.Decimals, row[3]}, {&d.MinOccurs, row[5]}, {&d.MaxOccurs, row[6]}}
		for _, f := range ints {
			if f.text == "" {
				continue
			}
			if *f.dst, err = strconv.Atoi(f.text); err != nil {
				return nil, fmt.Errorf("%w: line %d: %w", ErrSchema, line, err)
			}
		}
		if len(row[4]) != 1 || !strings.Contains("CMD", row[4]) {
			return nil, fmt.Errorf("%w: line %d: usage %q is not C, M or D", ErrSchema, line, row[4])
		}
		d.Usage = Usage(row[4][0])
		if _, dup := s.byPath[d.Path]; dup {
			return nil, fmt.Errorf("%w: line %d: duplicate path %s", ErrSchema, line, d.Path)
		}
		s.byPath[d.Path] = d
		_, d.elsewhere = checkedElsewhere[d.Path]
		if parent := d.Path[:max(strings.LastIndexByte(d.Path, '/'), 0)]; parent == "" {
			if s.Root != nil {
				return nil, fmt.Errorf("%w: line %d: second root %s", ErrSchema, line, d.Path)
			}
			s.Root = d
		} else {
			p := s.byPath[parent]
			if p == nil || p.Kind != KindGroup {
				return nil, fmt.Errorf("%w: line %d: parent %s is not a group defined earlier", ErrSchema, line, parent)
			}
			if p.childByName[d.Name] != nil {
				return nil, fmt.Errorf("%w: line %d: %s defined twice under %s", ErrSchema, line, d.Name, parent)
			}
			d.Parent, d.pos = p, len(p.Children)
			p.Children = append(p.Children, d)
			if p.childByName == nil {
				p.childByName = make(map[string]*ElementDef)
			}
			p.childByName[d.Name] = d
		}
		if (d.Usage == Dependent) != (row[7] != "") {
			return nil, fmt.Errorf("%w: line %d: depends_on must be set exactly for D elements", ErrSchema, line)
		}
		if row[7] != "" {
			deps = append(deps, dep{d, row[7]})
		}
		if d.ChoiceTable != "" && choiceTables[d.ChoiceTable] == nil && !isCodeList(d.ChoiceTable) {
			return nil, fmt.Errorf("%w: line %d: unknown choice table %q", ErrSchema, line, d.ChoiceTable)
		}
	}
	if s.Root == nil {
		return nil, fmt.Errorf("%w: no root", ErrSchema)
	}
	for _, dp := range deps {
		path, values, _ := strings.Cut(dp.spec, "=")
		target := s.byPath[path]
		if target == nil {
			return nil, fmt.Errorf("%w: %s depends on unknown %s", ErrSchema, dp.def.Path, path)
		}
		dp.def.DependsOn = target
		if values != "" {
			dp.def.DependsValues = strings.Split(values, "|")
		}
	}
	return s, nil
}

// DefaultSchema returns the element table of format 2.1.0 built into the
// package. It is parsed once and shared; treat it as read-only.
var DefaultSchema = sync.OnceValue(func() *Schema {
	s, err := ParseSchema(bytes.NewReader(elementsCSV))
	if err != nil {
		panic(err) // the embedded table is tested; this cannot happen in a release
	}
	return s
})

// choiceTables are the value lists of section 4 (exact, upper case). The
// ISO code lists are checked by V27 and V28 instead, see isCodeList.
var choiceTables = map[string][]string{
	"VT6": {"CPR", "TLF", "CVR", "EAN", "PNO", "DUN"},
	"VT8": {"FIK", "DIRECT_DEBIT"},
	"VT9": {"BS", "LS", "PBS", "OTHER"},
	"R1":  {"INVOICE", "CREDIT_NOTE", "REMINDER"},
	"R2":  {"71", "73", "75"},
	"R3":  {"CVR", "EAN"},
	"R4":  {"CVR", "EAN", "CUS"},
}

const (
	codeListCountry  = "ISO3166-1-A2"
	codeListCurrency = "ISO4217"
)

func isCodeList(name string) bool { return name == codeListCountry || name == codeListCurrency }
