package efaktura

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// readBundle reads INVOICES' children after its start tag (V07 for their
// order, occurrences and content) and hands each DOCUMENT to the document
// rules as soon as it is read.
func (v *validation) readBundle() error {
	s := v.s
	def := v.opts.Schema.Root
	seq := newSequence(def, make([]int, len(def.Children)))
	for {
		if err := s.next(); err != nil {
			return err
		}
		switch s.kind {
		case tokEnd:
			for _, c := range seq.missing() {
				path := "/INVOICES/" + c.Name
				if c.MaxOccurs > 1 {
					path += "[1]"
				}
				v.fileError("V07", path, v.rootPos, "V07.missing", c.Name, requirement(c))
			}
			return nil
		case tokText:
			if s.textFlags&textNonSpace != 0 {
				v.fileError("V07", "/INVOICES", s.tokPos(), "V07.text")
			}
			continue
		case tokPI:
			v.pi(false)
			continue
		case tokStart:
		default:
			continue
		}
		cdef := def.Child(string(s.name))
		verdict := seq.visit(cdef)
		if cdef != nil && cdef.Kind == KindGroup {
			v.documents++ // every DOCUMENT counts for V08, also one past the limit
		}
		path := "/INVOICES/" + string(s.name)
		if cdef != nil && cdef.MaxOccurs > 1 {
			path += "[" + strconv.Itoa(seq.count(cdef)) + "]"
		}
		at := s.tokPos()
		if verdict != seqOK {
			key, args := seq.describe(verdict, cdef, string(s.name), "INVOICES")
			v.fileError("V07", path, at, key, args...)
		}
		if len(s.attrs) > 0 && (cdef == nil || cdef.Kind != KindGroup) {
			// A DOCUMENT's own attributes are its structure's matter (V11).
			v.fileError("V07", path, at, "V11.attrs", string(s.name))
		}
		switch {
		case cdef == nil || verdict == seqTooMany:
			if cdef != nil && cdef.Kind == KindGroup {
				v.unreadDocuments = true
			}
			if err := v.skipElement(); err != nil {
				return err
			}
		case cdef.Kind == KindGroup: // DOCUMENT
			if v.opts.KeepRaw {
				s.capture = append(v.rawBuf[:0], s.lastTag...)
			}
			doc, err := v.readDocument(v.documents)
			if v.opts.KeepRaw && doc != nil {
				doc.raw = bytes.Clone(s.capture)
				v.rawBuf, s.capture = s.capture, nil
			}
			if err != nil {
				return err
			}
			if err := v.document(doc); err != nil {
				return err
			}
		default:
			lv, err := v.readLeaf(path, at)
			if err != nil {
				return err
			}
			if lv.chars == 0 {
				v.fileError("V07", path, at, "V12.empty", cdef.Name)
				lv.present = false // nothing for V08 and V09 to judge
			} else if key, args := checkValue(cdef, lv.value, lv.chars); key != "" {
				v.fileError("V07", path, at, key, args...)
				lv.present = false // unusable for V08 and V09
			}
			switch cdef.Name {
			case "REFERENCE":
				v.res.Reference = lv.value
				v.referencePos = at
			case "TOTAL_DOCUMENT_CHECKSUM":
				v.totalChecksum = lv
				v.res.TotalChecksum = lv.value
			case "NO_OF_DOCUMENTS":
				v.noOfDocuments = lv
			}
		}
	}
}

// readLeaf reads the text of a leaf element up to its end tag.
func (v *validation) readLeaf(path string, at pos) (leafValue, error) {
	s := v.s
	name := path[strings.LastIndexByte(path, '/')+1:]
	lv := leafValue{present: true, path: path, at: at}
	if s.selfClosing {
		return lv, s.next()
	}
	var b strings.Builder
	var flags textFlags
	first := rune(-1)
	for {
		if err := s.next(); err != nil {
			return lv, err
		}
		switch s.kind {
		case tokText:
			flags |= s.textFlags
			lv.chars += s.textChars
			if first < 0 {
				first = s.firstControl
			}
			if first < 0 {
				first = s.firstTabCRLF
			}
			if b.Len() < maxValueBytes {
				b.Write(s.text)
			}
		case tokStart:
			v.fileError("V07", path, s.tokPos(), "V07.holds_element", name, string(s.name))
			if err := v.skipElement(); err != nil {
				return lv, err
			}
		case tokPI:
			v.pi(false)
		case tokEnd:
			if flags&(textTabCRLF|textControl) != 0 {
				key, args := controlMessage(name, first)
				v.fileError("V04", path, at, key, args...)
			}
			lv.value = b.String()
			return lv, nil
		}
	}
}

// skipElement consumes the element whose start tag was just read, checking
// only well-formedness.
func (v *validation) skipElement() error {
	s := v.s
	if s.selfClosing {
		return s.next()
	}
	for depth := 1; depth > 0; {
		if err := s.next(); err != nil {
			return err
		}
		switch s.kind {
		case tokStart:
			depth++
		case tokEnd:
			depth--
		case tokDoctype:
			return s.errorf("a DOCTYPE declaration inside an element")
		}
	}
	return nil
}

// frame is an open element while a document is read.
type frame struct {
	node     int32 // -1 inside a subtree that is not kept
	last     int32 // the node's last child so far, or -1
	def      *ElementDef
	keep     bool    // children are kept (a known group)
	counts   []int32 // occurrences so far of each child definition
	next     int     // table position where the search for the next child starts
	unknown  []nameCount
	children bool      // a child element was seen
	text     textFlags // what the element's own text held
	// The first control characters of its text, for V04; -1 for none.
	firstControl, firstTabCRLF rune
	valStart                   int
	chars                      int
}

type nameCount struct {
	name  string
	count int32
}

// readDocument reads one DOCUMENT, whose start tag was just read, into a
// tree. Indentation, comments and CDATA boundaries vanish; everything else a
// rule may need is kept, up to maxDocumentNodes elements.
func (v *validation) readDocument(index int) (*Document, error) {
	s := v.s
	nodes := v.spareNodes[:0]
	v.spareNodes = nil
	if nodes == nil {
		// Documents of one bundle tend to be alike: size the tree like the
		// last one, so it grows without copying.
		nodes = make([]node, 0, max(128, v.lastNodes+v.lastNodes/8))
	}
	doc := &Document{Index: index, nodes: nodes}
	v.arena = v.arena[:0]
	v.frames = v.frames[:0]
	def := v.opts.Schema.Lookup("/INVOICES/DOCUMENT")
	doc.nodes = append(doc.nodes, node{name: def.Name, def: def, parent: -1, first: -1, next: -1, occ: int32(index),
		line: int32(s.tokLine), col: int32(s.tokCol)})
	if len(s.attrs) > 0 {
		doc.nodes[0].flags |= hasAttrs
	}
	v.pushFrame(0, def)
	for len(v.frames) > 0 {
		if err := s.next(); err != nil {
			return nil, err
		}
		switch s.kind {
		case tokStart:
			v.openElement(doc)
		case tokEnd:
			v.closeElement(doc)
		case tokText:
			f := &v.frames[len(v.frames)-1]
			f.text |= s.textFlags
			f.chars += s.textChars
			if f.firstControl < 0 {
				f.firstControl = s.firstControl
			}
			if f.firstTabCRLF < 0 {
				f.firstTabCRLF = s.firstTabCRLF
			}
			if f.node >= 0 && !f.keep {
				v.arena = appendValue(v.arena, f.valStart, s.text)
			}
		case tokPI:
			v.pi(false)
		case tokDoctype:
			return nil, s.errorf("a DOCTYPE declaration inside an element")
		}
	}
	doc.values = string(v.arena)
	v.lastNodes = len(doc.nodes)
	return doc, nil
}

func (v *validation) pushFrame(n int32, def *ElementDef) {
	if len(v.frames) < cap(v.frames) {
		v.frames = v.frames[:len(v.frames)+1]
	} else {
		v.frames = append(v.frames, frame{})
	}
	f := &v.frames[len(v.frames)-1]
	*f = frame{node: n, last: -1, def: def, counts: f.counts[:0], unknown: f.unknown[:0], valStart: len(v.arena), firstControl: -1, firstTabCRLF: -1}
	f.keep = n >= 0 && def != nil && def.Kind == KindGroup
	if f.keep {
		for range def.Children {
			f.counts = append(f.counts, 0)
		}
	}
}

func (v *validation) openElement(doc *Document) {
	s := v.s
	parent := &v.frames[len(v.frames)-1]
	parent.children = true
	if !parent.keep {
		if parent.node >= 0 {
			doc.nodes[parent.node].flags |= hasElements | skipped
		}
		v.pushFrame(-1, nil)
		return
	}
	if len(doc.nodes) >= maxDocumentNodes {
		doc.truncated = true
		v.pushFrame(-1, nil)
		return
	}
	pi := parent.node
	doc.nodes[pi].flags |= hasElements
	cdef := parent.childDef(s.name)
	n := node{def: cdef, parent: pi, first: -1, next: -1, line: int32(s.tokLine), col: int32(s.tokCol)}
	if cdef != nil {
		n.name = cdef.Name
		parent.counts[cdef.pos]++
		n.occ = parent.counts[cdef.pos]
	} else {
		n.name = string(s.name)
		n.occ = 1
		found := false
		for i := range parent.unknown {
			if parent.unknown[i].name == n.name {
				parent.unknown[i].count++
				n.occ, found = parent.unknown[i].count, true
				break
			}
		}
		if !found && len(parent.unknown) < 64 {
			parent.unknown = append(parent.unknown, nameCount{n.name, 1})
		}
	}
	if len(s.attrs) > 0 {
		n.flags |= hasAttrs
	}
	idx := int32(len(doc.nodes))
	doc.nodes = append(doc.nodes, n)
	if parent.last >= 0 {
		doc.nodes[parent.last].next = idx
	} else {
		doc.nodes[pi].first = idx
	}
	parent.last = idx
	for _, a := range s.attrs {
		if a.control {
			v.fileError("V04", Element{doc, idx}.Path(), pos{n.line, n.col}, "V04.attr", a.name)
		}
	}
	v.pushFrame(idx, cdef)
}

// childDef returns the definition of the frame's child called name, or nil.
// Children mostly come in table order, so the search starts where the last
// one was found: a map lookup per element, hashing its name, cost more.
func (f *frame) childDef(name []byte) *ElementDef {
	children := f.def.Children
	for k := range children {
		i := (f.next + k) % len(children)
		if children[i].Name == string(name) {
			f.next = i
			return children[i]
		}
	}
	return nil
}

func (v *validation) closeElement(doc *Document) {
	f := v.frames[len(v.frames)-1]
	v.frames = v.frames[:len(v.frames)-1]
	at := f.node
	if at < 0 { // report against the nearest kept ancestor
		for i := len(v.frames) - 1; i >= 0 && at < 0; i-- {
			at = v.frames[i].node
		}
	}
	group := f.keep || f.children
	el := Element{doc, at}
	switch {
	case f.text&textControl != 0:
		key, args := controlMessage(el.Name(), f.firstControl)
		v.fileError("V04", el.Path(), elementPos(el), key, args...)
	case !group && f.text&textTabCRLF != 0:
		key, args := controlMessage(el.Name(), f.firstTabCRLF)
		v.fileError("V04", el.Path(), elementPos(el), key, args...)
	}
	if f.node < 0 {
		return
	}
	n := &doc.nodes[f.node]
	if group && f.text&textNonSpace != 0 {
		n.flags |= hasText
	}
	if !f.keep {
		n.valOff = int32(f.valStart)
		n.valLen = uint16(len(v.arena) - f.valStart)
		n.chars = int32(f.chars)
	}
}

// appendValue adds text to the value that starts at arena[start], keeping at
// most maxValueBytes of it, cut at a character boundary.
func appendValue(arena []byte, start int, text []byte) []byte {
	room := maxValueBytes - (len(arena) - start)
	if len(text) > room {
		room = max(room, 0)
		for room > 0 && !utf8.RuneStart(text[room]) {
			room--
		}
		text = text[:room]
	}
	return append(arena, text...)
}

// document runs the document rules on doc and keeps what the bundle rules
// need from it.
func (v *validation) document(doc *Document) error {
	if err := v.ctx.Err(); err != nil {
		return err
	}
	if v.fileFailed {
		return nil // the bundle is rejected; its documents are not processed
	}
	root := doc.Root()
	header := root.Child("HEADER")
	dr := DocumentResult{
		Index:      doc.Index,
		ReceiptNo:  header.Child("RECEIPT_NO").Value(),
		DocumentNo: root.Find("DOCUMENT_HEAD/DOCUMENT_NO").Value(),
		Type:       root.Find("DOCUMENT_HEAD/DOCUMENT_TYPE").Value(),
		Findings:   []Finding{},
	}
	v.hide = finalCustomerCPRs(doc, v.hide[:0])
	if !v.opts.SkipDocumentRules {
		c := &checker{v: v, doc: doc, res: &dr}
		c.run()
	}

	// What the bundle rules need: V09's sum, V10's first sender, V51's keys.
	cs := header.Child("CHECKSUM")
	if val, err := ParseDecimal(cs.Value(), 20, 3); cs.Filled() && err == nil {
		v.checksumSum = v.checksumSum.Add(val)
	} else {
		v.checksumMissing = append(v.checksumMissing, doc.Index)
	}
	senderType, senderID := header.Child("SENDER_ID_TYPE").Value(), header.Child("SENDER_ID").Value()
	if doc.Index == 1 {
		v.firstSender = [2]string{senderType, senderID}
	}
	if senderType != "" && senderID != "" && dr.ReceiptNo != "" {
		key := [3]string{senderType, senderID, dr.ReceiptNo}
		if v.receipts == nil {
			v.receipts = make(map[[3]string]receipt)
		}
		no := header.Child("RECEIPT_NO")
		if first, dup := v.receipts[key]; dup {
			// Both documents are blamed, each naming the other; the first
			// once, however many documents repeat its number.
			v51 := func(dst *[]Finding, path string, at pos, other int) {
				v.add(dst, maxFindingsPerDocument, "V51", path, at, "V51", quoteValue(dr.ReceiptNo), senderType, senderID, other)
			}
			v51(&dr.Findings, no.Path(), elementPos(no), first.index)
			if fr := &v.res.Documents[first.index-1]; !fr.dupReported {
				fr.dupReported = true
				v51(&fr.Findings, fmt.Sprintf("/INVOICES/DOCUMENT[%d]/HEADER/RECEIPT_NO", first.index), first.at, doc.Index)
			}
		} else {
			v.receipts[key] = receipt{doc.Index, elementPos(no)}
		}
	}
	v.hide = v.hide[:0]
	dr.Valid = !hasError(dr.Findings)
	if v.opts.Document != nil {
		if err := v.opts.Document(doc, &dr); err != nil {
			return err
		}
	}
	v.res.Documents = append(v.res.Documents, dr)
	if v.opts.Document == nil {
		// Nothing holds doc any more (results hold strings, not elements):
		// its tree's storage serves the next document.
		v.spareNodes = doc.nodes
	}
	return nil
}

// bundleRules applies V08 and V09 once every document is read, each when
// its own values are usable whatever else V07 found, and then V10 when the
// bundle has passed every other file and bundle rule.
func (v *validation) bundleRules() {
	if n := v.noOfDocuments; n.present {
		if !isDigits(n.value, 1, 4) {
			v.fileError("V08", n.path, n.at, "V08.digits", quoteValue(n.value))
		} else if got, _ := strconv.Atoi(n.value); got != v.documents {
			v.fileError("V08", n.path, n.at, "V08.count", got, pluralOf(v.documents, "DOCUMENT-element", "DOCUMENT-elementer", "DOCUMENT element", "DOCUMENT elements"), v.documents)
		}
	}
	if t := v.totalChecksum; t.present {
		total, err := ParseDecimal(t.value, 20, 3)
		switch {
		case err != nil: // reported by V07
		case v.unreadDocuments: // more than 1000 documents: V07 reports it, and the sum is unknown
		case len(v.checksumMissing) > 0:
			v.fileError("V09", t.path, t.at, "V09.missing", joinInts(v.checksumMissing, 10))
		case !total.Equal(v.checksumSum):
			v.fileError("V09", t.path, t.at, "V09.sum", number(FormatDecimal(total, 3)), number(FormatDecimal(v.checksumSum, 3)), pluralOf(v.documents, "dokument", "dokumenter", "document", "documents"))
		}
	}
	if v.bundleFailed || v.opts.Bundles == nil {
		return
	}
	key := BundleKey{
		ServiceProvider: v.opts.ServiceProvider,
		SenderType:      v.firstSender[0],
		SenderID:        v.firstSender[1],
		Reference:       v.res.Reference,
		Year:            danishYear(v.opts.ReceivedAt),
	}
	dup, err := v.opts.Bundles.Register(v.ctx, key)
	switch {
	case err != nil:
		v.fileError("V10", "/INVOICES/REFERENCE", v.referencePos, "V10.unavailable")
	case dup:
		v.fileError("V10", "/INVOICES/REFERENCE", v.referencePos, "V10.duplicate", quoteValue(key.Reference), key.SenderType, quoteValue(key.SenderID), key.Year)
	}
}

// joinInts lists up to limit numbers, e.g. "2, 5, 7" or "1, 2, 3, ... (12 in all)".
func joinInts(ns []int, limit int) both {
	parts := make([]string, 0, min(len(ns), limit))
	for _, n := range ns[:min(len(ns), limit)] {
		parts = append(parts, strconv.Itoa(n))
	}
	s := strings.Join(parts, ", ")
	if len(ns) > limit {
		return both{s + fmt.Sprintf(", ... (%d i alt)", len(ns)), s + fmt.Sprintf(", ... (%d in all)", len(ns))}
	}
	return both{s, s}
}

// controlMessage is V04's message for the control character r in the value
// of element name.
func controlMessage(name string, r rune) (key string, args []any) {
	key = "V04.value"
	if 0x80 <= r && r <= 0x9F {
		key = "V04.value_encoding"
	}
	return key, []any{name, fmt.Sprintf("U+%04X", r)}
}

// finalCustomerCPRs appends to dst the values of the document's
// FINAL_CUSTOMER elements of type CPR: they are hidden wherever a message
// would show them, whatever their digits look like.
func finalCustomerCPRs(doc *Document, dst []string) []string {
	for line := range doc.Root().All("LINE") {
		if line.Child("FINAL_CUSTOMER_TYPE").Value() == "CPR" {
			if v := strings.TrimSpace(line.Child("FINAL_CUSTOMER").Value()); v != "" && !slices.Contains(dst, v) {
				dst = append(dst, v)
			}
		}
	}
	return dst
}
