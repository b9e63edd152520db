package efaktura

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"
)

// scanner is a streaming tokenizer for XML 1.0 in ISO-8859-1, where every byte
// is one character. It checks well-formedness (V02) as it goes and keeps
// bounded memory whatever the input: text is decoded into a buffer capped at
// maxValueBytes, tags are capped at maxTagBytes, nesting at maxDepth.
//
// It is written for e-faktura rather than using encoding/xml because the
// format needs only elements, text, comments, processing instructions and the
// predefined entities, and a byte scanner over a single-byte encoding is
// several times faster and allocates nothing per token.
type scanner struct {
	r    io.Reader
	buf  []byte
	pos  int // next unread byte in buf
	end  int // end of valid data in buf
	eof  bool
	rerr error // a read error other than io.EOF
	line int   // line of buf[pos], 1-based
	// base is the offset in the input of buf[0], lineStart that of the
	// first byte of the current line: the column of buf[pos] is
	// base+pos-lineStart+1, in characters, since every byte is one.
	base, lineStart int

	// The current token, valid until the next call of next.
	kind        tokenKind
	tokLine     int // where the token starts
	tokCol      int
	name        []byte // element name, or PI target
	attrs       []attr
	selfClosing bool
	text        []byte // decoded UTF-8 text of tokText, capped at maxValueBytes
	textChars   int    // characters of the whole text, also past the cap
	textFlags   textFlags
	// firstControl and firstTabCRLF are the first such characters of the
	// text, for V04's message; -1 when there is none.
	firstControl, firstTabCRLF rune

	open     []byte // names of open elements, back to back
	openEnds []int  // end offset in open of each open element's name
	attrBuf  []byte

	// lastTag is the last start tag read, valid until the next read.
	lastTag []byte
	// capture, when not nil, receives every byte consumed: the raw text of
	// a DOCUMENT for Options.KeepRaw.
	capture []byte
}

type tokenKind uint8

const (
	tokEOF     tokenKind = iota
	tokStart             // a start tag; selfClosing tells whether tokEnd follows at once
	tokEnd               // an end tag, or the implied end of a self-closing tag
	tokText              // character data or a CDATA section
	tokComment           // a comment; its content is not kept
	tokPI                // a processing instruction; name holds its target
	tokDoctype           // a DOCTYPE declaration; the scanner does not go past it
)

// attr is an attribute; control is set when its value held a character that
// V04 forbids.
type attr struct {
	name, value string
	control     bool
}

// textFlags describe what a text token holds, for V04 and for telling
// indentation from values.
type textFlags uint8

const (
	textNonSpace textFlags = 1 << iota // a character other than space, TAB, CR, LF
	textTabCRLF                        // TAB, CR or LF
	textControl                        // U+0000-U+001F other than TAB, CR, LF, or U+007F-U+009F
)

const (
	scanBufSize   = 256 << 10
	maxTagBytes   = 64 << 10 // a start tag with its attributes
	maxNameBytes  = 1 << 10
	maxValueBytes = 4 << 10 // values beyond this are counted, not kept
	maxDepth      = 256
)

// SyntaxError is a well-formedness error: the file is not XML the reader can
// go on with. It becomes a V02 finding.
type SyntaxError struct {
	Line, Column int // 1-based; the column counts characters
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// scanBufs recycles scanner buffers: a service validates many small bundles,
// and a fresh 256 KiB buffer per bundle would dominate their cost.
var scanBufs = sync.Pool{New: func() any { b := make([]byte, scanBufSize); return &b }}

// newScanner returns a scanner reading r; release returns its buffer.
func newScanner(r io.Reader) *scanner {
	return &scanner{r: r, buf: *scanBufs.Get().(*[]byte), line: 1}
}

func (s *scanner) release() {
	b := s.buf[:scanBufSize]
	s.buf = nil
	scanBufs.Put(&b)
}

func (s *scanner) errorf(format string, args ...any) error {
	return &SyntaxError{Line: s.line, Column: s.col(), Msg: fmt.Sprintf(format, args...)}
}

// col is the column of buf[pos], 1-based.
func (s *scanner) col() int { return s.base + s.pos - s.lineStart + 1 }

// fill moves unread bytes to the front and reads more. It reports whether
// new bytes arrived.
func (s *scanner) fill() bool {
	if s.eof {
		return false
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.base += s.pos
		s.pos, s.end = 0, n
	}
	if s.end == len(s.buf) {
		return false // the caller's token is larger than the buffer
	}
	for range 100 {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.eof = true
			if !errors.Is(err, io.EOF) {
				s.rerr = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.eof, s.rerr = true, io.ErrNoProgress
	return false
}

// readErr is the error to return when input ran out: a read error if there
// was one, else a syntax error saying what was cut off.
func (s *scanner) readErr(what string) error {
	if s.rerr != nil {
		return s.rerr
	}
	return s.errorf("the file ends inside %s", what)
}

// advance consumes n bytes.
func (s *scanner) advance(n int) {
	s.consume(n, bytes.IndexByte(s.buf[s.pos:s.pos+n], '\n') >= 0)
}

// consume consumes n bytes; newline is false only when none of them is a
// newline, which the tokenizers know from their own pass over the bytes:
// counting lines again for every tag and value was a tenth of the time.
func (s *scanner) consume(n int, newline bool) {
	if newline {
		b := s.buf[s.pos : s.pos+n]
		if last := bytes.LastIndexByte(b, '\n'); last >= 0 {
			s.line += 1 + bytes.Count(b[:last], []byte{'\n'})
			s.lineStart = s.base + s.pos + last + 1
		}
	}
	if s.capture != nil {
		s.capture = append(s.capture, s.buf[s.pos:s.pos+n]...)
	}
	s.pos += n
}

// hasPrefix reports whether the unread input starts with p, reading more as
// needed.
func (s *scanner) hasPrefix(p string) bool {
	for s.end-s.pos < len(p) {
		if !s.fill() {
			break
		}
	}
	return bytes.HasPrefix(s.buf[s.pos:s.end], []byte(p))
}

// next reads the next token.
func (s *scanner) next() error {
	if s.kind == tokStart && s.selfClosing {
		s.kind, s.selfClosing = tokEnd, false
		s.popOpen()
		return nil
	}
	s.tokLine, s.tokCol = s.line, s.col()
	if s.pos == s.end && !s.fill() {
		if s.rerr != nil {
			return s.rerr
		}
		if len(s.openEnds) > 0 {
			return s.errorf("the file ends inside element %s", s.top())
		}
		s.kind = tokEOF
		return nil
	}
	if s.buf[s.pos] != '<' {
		return s.scanText()
	}
	for s.end-s.pos < 2 && s.fill() {
	}
	var second byte // the byte after '<', 0 at the end of input
	if s.end-s.pos >= 2 {
		second = s.buf[s.pos+1]
	}
	switch second {
	case '/':
		return s.scanEnd()
	case '?':
		return s.scanPI()
	case '!':
		return s.scanBang()
	}
	return s.scanStart()
}

// scanBang reads what starts with "<!".
func (s *scanner) scanBang() error {
	switch {
	case s.hasPrefix("<!--"):
		return s.scanComment()
	case s.hasPrefix("<![CDATA["):
		if len(s.openEnds) == 0 {
			return s.errorf("CDATA section outside the root element")
		}
		return s.scanCDATA()
	case s.hasPrefix("<!DOCTYPE"):
		s.kind = tokDoctype
		return nil
	}
	return s.errorf("markup declaration <! is not allowed here")
}

func (s *scanner) top() []byte {
	n := len(s.openEnds)
	start := 0
	if n > 1 {
		start = s.openEnds[n-2]
	}
	return s.open[start:s.openEnds[n-1]]
}

func (s *scanner) popOpen() {
	s.openEnds = s.openEnds[:len(s.openEnds)-1]
	if n := len(s.openEnds); n > 0 {
		s.open = s.open[:s.openEnds[n-1]]
	} else {
		s.open = s.open[:0]
	}
}

// tagBytes are the bytes tag acts on.
var tagBytes = [256]bool{'"': true, '\'': true, '>': true, '\n': true}

// tag returns the bytes of the tag at pos up to and including the closing '>'
// that stands outside quotes, reading more as needed, and whether it holds a
// newline.
func (s *scanner) tag() (t []byte, newline bool, err error) {
	var quote byte
	i := s.pos
	for {
		for ; i < s.end; i++ {
			c := s.buf[i]
			if !tagBytes[c] {
				continue
			}
			switch {
			case c == '\n':
				newline = true
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '>':
				return s.buf[s.pos : i+1], newline, nil
			}
		}
		if i-s.pos >= maxTagBytes {
			return nil, false, s.errorf("a tag is longer than %d bytes, the reader's limit", maxTagBytes)
		}
		off := i - s.pos
		if !s.fill() {
			if s.end-s.pos >= len(s.buf) {
				return nil, false, s.errorf("a tag is longer than %d bytes, the reader's limit", maxTagBytes)
			}
			return nil, false, s.readErr("a tag")
		}
		i = s.pos + off
	}
}

// plainTag returns the tag at pos when it is prefix ("<" or "</") and a
// name closed at once by '>', as nearly every tag of a bundle is: tag's
// quote-aware scan is then not needed. It returns nil otherwise, or when
// the tag is not wholly in the buffer.
func (s *scanner) plainTag(prefix int) []byte {
	b := s.buf[s.pos+prefix : s.end]
	n := nameLength(b)
	if n == 0 || n == len(b) || b[n] != '>' {
		return nil
	}
	return s.buf[s.pos : s.pos+prefix+n+1]
}

func (s *scanner) scanStart() error {
	t, newline := s.plainTag(len("<")), false
	if t == nil {
		var err error
		if t, newline, err = s.tag(); err != nil {
			return err
		}
	}
	n := len(t)
	body := t[1 : n-1]
	s.selfClosing = len(body) > 0 && body[len(body)-1] == '/'
	if s.selfClosing {
		body = body[:len(body)-1]
	}
	nameLen := nameLength(body)
	if nameLen == 0 {
		return s.errorf("'<' must start a tag name; write &lt; for a literal '<'")
	}
	if nameLen > maxNameBytes {
		return s.errorf("an element name is longer than %d characters, the reader's limit", maxNameBytes)
	}
	s.name = body[:nameLen]
	s.attrs = s.attrs[:0]
	s.attrBuf = s.attrBuf[:0]
	if err := s.parseAttrs(body[nameLen:]); err != nil {
		return err
	}
	if len(s.openEnds) >= maxDepth {
		return s.errorf("elements are nested deeper than %d levels, the reader's limit", maxDepth)
	}
	s.open = append(s.open, s.name...)
	s.openEnds = append(s.openEnds, len(s.open))
	s.kind = tokStart
	s.lastTag = t
	s.consume(n, newline)
	return nil
}

func (s *scanner) parseAttrs(b []byte) error {
	for {
		ws := 0
		for ws < len(b) && isSpace(b[ws]) {
			ws++
		}
		b = b[ws:]
		if len(b) == 0 {
			return nil
		}
		if ws == 0 {
			return s.errorf("attributes of <%s> must be separated by white space", s.name)
		}
		n := nameLength(b)
		if n == 0 {
			return s.errorf("unexpected character %q in tag <%s>", b[0], s.name)
		}
		name := b[:n]
		b = trimSpaceLeft(b[n:])
		if len(b) == 0 || b[0] != '=' {
			return s.errorf("attribute %s of <%s> has no value", name, s.name)
		}
		b = trimSpaceLeft(b[1:])
		if len(b) == 0 || (b[0] != '"' && b[0] != '\'') {
			return s.errorf("the value of attribute %s of <%s> must be quoted", name, s.name)
		}
		q := b[0]
		end := bytes.IndexByte(b[1:], q)
		if end < 0 {
			return s.errorf("the value of attribute %s of <%s> is not closed", name, s.name)
		}
		raw := b[1 : 1+end]
		b = b[end+2:]
		if bytes.IndexByte(raw, '<') >= 0 {
			return s.errorf("attribute %s of <%s> contains '<'", name, s.name)
		}
		for _, a := range s.attrs {
			if a.name == string(name) {
				return s.errorf("attribute %s appears twice in <%s>", name, s.name)
			}
		}
		start := len(s.attrBuf)
		var flags textFlags
		var err error
		s.attrBuf, _, flags, err = s.decodeText(s.attrBuf, raw, 1<<30)
		if err != nil {
			return err
		}
		s.attrs = append(s.attrs, attr{
			name:    string(name),
			value:   string(s.attrBuf[start:]),
			control: flags&(textTabCRLF|textControl) != 0,
		})
	}
}

func (s *scanner) scanEnd() error {
	t, newline := s.plainTag(len("</")), false
	if t == nil {
		var err error
		if t, newline, err = s.tag(); err != nil {
			return err
		}
	}
	body := t[2 : len(t)-1]
	n := nameLength(body)
	if n == 0 || len(trimSpaceLeft(body[n:])) != 0 {
		return s.errorf("malformed end tag")
	}
	if len(s.openEnds) == 0 {
		return s.errorf("end tag </%s> without a start tag", body[:n])
	}
	if !bytes.Equal(body[:n], s.top()) {
		return s.errorf("end tag </%s> does not match start tag <%s>", body[:n], s.top())
	}
	s.name = body[:n]
	s.popOpen()
	s.kind = tokEnd
	s.consume(len(t), newline)
	return nil
}

// scanUntil consumes input up to and including the terminator, calling visit
// on each chunk before it (chunks may split anywhere). It never buffers more
// than one buffer's worth.
func (s *scanner) scanUntil(term string, what string, visit func([]byte) error) error {
	for {
		chunk := s.buf[s.pos:s.end]
		if i := bytes.Index(chunk, []byte(term)); i >= 0 {
			if err := visit(chunk[:i]); err != nil {
				return err
			}
			s.advance(i + len(term))
			return nil
		}
		// Keep a tail that may hold the start of the terminator.
		keep := min(len(term)-1, len(chunk))
		if err := visit(chunk[:len(chunk)-keep]); err != nil {
			return err
		}
		s.advance(len(chunk) - keep)
		if !s.fill() {
			return s.readErr(what)
		}
	}
}

func (s *scanner) scanComment() error {
	s.advance(len("<!--"))
	prevDash := false
	err := s.scanUntil("-->", "a comment", func(b []byte) error {
		if len(b) == 0 {
			return nil
		}
		if prevDash && b[0] == '-' || bytes.Contains(b, []byte("--")) {
			return s.errorf("'--' is not allowed inside a comment")
		}
		prevDash = b[len(b)-1] == '-'
		return checkChars(s, b)
	})
	if err != nil {
		return err
	}
	if prevDash {
		return s.errorf("a comment must not end with '--->'")
	}
	s.kind = tokComment
	return nil
}

func (s *scanner) scanPI() error {
	for s.end-s.pos < 3+maxNameBytes && s.fill() {
	}
	b := s.buf[s.pos+2 : s.end]
	n := nameLength(b)
	if n == 0 {
		return s.errorf("a processing instruction has no target name")
	}
	if n >= maxNameBytes {
		return s.errorf("a processing-instruction target is longer than %d characters", maxNameBytes)
	}
	s.name = append(s.name[:0:0], b[:n]...)
	if bytes.EqualFold(s.name, []byte("xml")) {
		return s.errorf("an XML declaration may only stand at the very start of the file")
	}
	if n < len(b) && !isSpace(b[n]) && !bytes.HasPrefix(b[n:], []byte("?>")) {
		return s.errorf("processing instruction %s: white space must follow the target", s.name)
	}
	s.advance(2 + n)
	if err := s.scanUntil("?>", "a processing instruction", func(b []byte) error { return checkChars(s, b) }); err != nil {
		return err
	}
	s.kind = tokPI
	return nil
}

func (s *scanner) resetText() {
	s.text, s.textChars, s.textFlags = s.text[:0], 0, 0
	s.firstControl, s.firstTabCRLF = -1, -1
}

// noteControl remembers the first control character of each kind.
func (s *scanner) noteControl(r rune, f textFlags) {
	switch {
	case f&textControl != 0 && s.firstControl < 0:
		s.firstControl = r
	case f&textTabCRLF != 0 && s.firstTabCRLF < 0:
		s.firstTabCRLF = r
	}
}

func (s *scanner) scanCDATA() error {
	s.advance(len("<![CDATA["))
	s.resetText()
	err := s.scanUntil("]]>", "a CDATA section", func(b []byte) error {
		s.appendRaw(b)
		return nil
	})
	s.kind = tokText
	return err
}

// scanText reads character data up to the next '<' or the end of input.
func (s *scanner) scanText() error {
	s.resetText()
	for {
		chunk := s.buf[s.pos:s.end]
		i := bytes.IndexByte(chunk, '<')
		if i < 0 {
			i = len(chunk)
			// A reference must not be split: keep an unterminated one for the next round.
			if amp := bytes.LastIndexByte(chunk, '&'); amp >= 0 && bytes.IndexByte(chunk[amp:], ';') < 0 && !s.eof {
				i = amp
			}
			// "]]>" must not be split either.
			for i > 0 && i > len(chunk)-2 && chunk[i-1] == ']' && !s.eof {
				i--
			}
		}
		var chars int
		var flags textFlags
		var err error
		s.text, chars, flags, err = s.decodeText(s.text, chunk[:i], maxValueBytes)
		if err != nil {
			return err
		}
		s.textChars += chars
		s.textFlags |= flags
		s.consume(i, flags&textTabCRLF != 0) // a newline is one of TAB, CR, LF
		if s.pos < s.end && s.buf[s.pos] == '<' {
			break
		}
		if !s.fill() {
			if s.pos < s.end { // an unterminated reference at the very end
				return s.errorf("a reference '&' is not terminated by ';'")
			}
			if s.rerr != nil {
				return s.rerr
			}
			break
		}
	}
	if len(s.openEnds) == 0 && s.textFlags&textNonSpace != 0 {
		return s.errorf("text outside the root element")
	}
	s.kind = tokText
	return nil
}

// byteClass sorts ISO-8859-1 bytes for the text loops.
var byteClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c == '\t' || c == '\n' || c == '\r':
			t[c] = classTabCRLF
		case c < 0x20:
			t[c] = classControl
		case c == ' ':
			t[c] = classSpace
		case c == '&' || c == ']' || c == '<':
			t[c] = classSpecial
		case c < 0x7f:
			t[c] = classPlain
		case c <= 0x9f:
			t[c] = classC1
		default:
			t[c] = classHigh
		}
	}
	return t
}()

// The fast path of decodeText relies on classPlain and classSpace being the
// two lowest classes.
const (
	classPlain = iota
	classSpace
	classTabCRLF
	classControl
	classC1
	classHigh
	classSpecial
)

// decodeText appends the decoded UTF-8 form of raw character data to dst,
// resolving references, while dst stays under limit. It returns the number of
// characters and what kinds were seen.
func (s *scanner) decodeText(dst, raw []byte, limit int) ([]byte, int, textFlags, error) {
	var flags textFlags
	chars := 0
	for i := 0; i < len(raw); {
		// Fast path: a run of printable ASCII, spaces included, which is
		// values and indentation alike.
		j := i
		var other byte // nonzero once the run holds a byte other than a space
		for j < len(raw) && byteClass[raw[j]] <= classSpace {
			other |= raw[j] ^ ' '
			j++
		}
		if j > i {
			if other != 0 {
				flags |= textNonSpace
			}
			chars += j - i
			if room := limit - len(dst); room > 0 {
				dst = append(dst, raw[i:min(j, i+room)]...)
			}
			i = j
			continue
		}
		c := raw[i]
		switch byteClass[c] {
		case classSpecial:
			switch c {
			case '<':
				return dst, chars, flags, s.errorf("'<' inside text; write &lt;")
			case ']':
				if bytes.HasPrefix(raw[i:], []byte("]]>")) {
					return dst, chars, flags, s.errorf("']]>' is not allowed in text; write ]]&gt;")
				}
				dst, chars, flags = appendChar(dst, ']', chars, flags|textNonSpace, limit)
				i++
				continue
			}
			r, n, err := s.reference(raw[i:])
			if err != nil {
				return dst, chars, flags, err
			}
			flags |= runeFlags(r)
			s.noteControl(r, runeFlags(r))
			if len(dst)+utf8.UTFMax <= limit {
				dst = utf8.AppendRune(dst, r)
			}
			chars++
			i += n
			continue
		case classHigh, classC1:
			flags |= runeFlags(rune(c))
			s.noteControl(rune(c), runeFlags(rune(c)))
			if len(dst)+2 <= limit {
				dst = utf8.AppendRune(dst, rune(c))
			}
			chars++
		default:
			s.noteControl(rune(c), runeFlags(rune(c)))
			dst, chars, flags = appendChar(dst, c, chars, flags|runeFlags(rune(c)), limit)
		}
		i++
	}
	return dst, chars, flags, nil
}

// appendRaw adds CDATA content, where no reference is resolved, to the
// current text. It cannot fail: every byte is kept as a character, and
// control characters are V04's matter, through the flags.
func (s *scanner) appendRaw(raw []byte) {
	for _, c := range raw {
		f := runeFlags(rune(c))
		s.textFlags |= f
		s.noteControl(rune(c), f)
		if len(s.text)+2 <= maxValueBytes {
			s.text = utf8.AppendRune(s.text, rune(c))
		}
	}
	s.textChars += len(raw)
}

func appendChar(dst []byte, c byte, chars int, flags textFlags, limit int) ([]byte, int, textFlags) {
	if len(dst) < limit {
		dst = append(dst, c)
	}
	return dst, chars + 1, flags
}

func runeFlags(r rune) textFlags {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return textTabCRLF
	case r < 0x20 || r >= 0x7f && r <= 0x9f:
		return textControl | textNonSpace
	case r == ' ':
		return 0
	}
	return textNonSpace
}

// checkChars rejects bytes that are not XML characters where no value is
// involved (comments, processing instructions).
func checkChars(s *scanner, b []byte) error {
	for _, c := range b {
		if byteClass[c] == classControl {
			return s.errorf("character U+%04X is not allowed in XML", c)
		}
	}
	return nil
}

var predefinedEntities = map[string]rune{"lt": '<', "gt": '>', "amp": '&', "apos": '\'', "quot": '"'}

// reference decodes the reference at the start of b ("&...;").
func (s *scanner) reference(b []byte) (rune, int, error) {
	end := bytes.IndexByte(b[:min(len(b), 16)], ';')
	if end < 0 {
		return 0, 0, s.errorf("a reference '&' is not terminated by ';'; write &amp; for a literal '&'")
	}
	ref := b[1:end]
	if len(ref) > 1 && ref[0] == '#' {
		base, digits := 10, ref[1:]
		if digits[0] == 'x' {
			base, digits = 16, digits[1:]
		}
		var r rune
		for _, d := range digits {
			v := hexValue(d)
			if v < 0 || v >= base || r > utf8.MaxRune {
				return 0, 0, s.errorf("malformed character reference &%s;", ref)
			}
			r = r*rune(base) + rune(v)
		}
		if len(digits) == 0 || !isXMLChar(r) && !(r < 0x20) {
			return 0, 0, s.errorf("character reference &%s; is not an XML character", ref)
		}
		// A reference to a control character is a V04 matter, reported by the
		// caller through the flags, not a syntax error.
		return r, end + 1, nil
	}
	if r, ok := predefinedEntities[string(ref)]; ok {
		return r, end + 1, nil
	}
	return 0, 0, s.errorf("entity &%s; is not defined; only &lt; &gt; &amp; &apos; &quot; and character references exist", ref)
}

func hexValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func isXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || 0x20 <= r && r <= 0xD7FF ||
		0xE000 <= r && r <= 0xFFFD || 0x10000 <= r && r <= 0x10FFFF
}

// nameLength returns the length of the XML name at the start of b, over the
// ISO-8859-1 subset of the Name production.
func nameLength(b []byte) int {
	if len(b) == 0 || nameBytes[b[0]]&nameStart == 0 {
		return 0
	}
	n := 1
	for n < len(b) && nameBytes[b[n]]&nameChar != 0 {
		n++
	}
	return n
}

// nameBytes is isNameStart and isNameChar as a table: names are read for
// every tag.
var nameBytes = func() (t [256]uint8) {
	for c := range 256 {
		if isNameStart(byte(c)) {
			t[c] |= nameStart
		}
		if isNameChar(byte(c)) {
			t[c] |= nameChar
		}
	}
	return t
}()

const (
	nameStart = 1 << iota
	nameChar
)

func isNameStart(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':' ||
		0xC0 <= c && c != 0xD7 && c != 0xF7
}

func isNameChar(c byte) bool {
	return isNameStart(c) || '0' <= c && c <= '9' || c == '-' || c == '.' || c == 0xB7
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimSpaceLeft(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	return b
}
