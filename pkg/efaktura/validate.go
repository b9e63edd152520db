package efaktura

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Profile selects how the stylesheet processing instruction is judged (V05).
type Profile string

const (
	// ProfileSender is for files as an ERP sends them: no stylesheet PI.
	ProfileSender Profile = "sender"
	// ProfileDelivered is for files as the e-faktura hub delivers them: at
	// most one stylesheet PI, directly after the XML declaration.
	ProfileDelivered Profile = "delivered"
)

// Size limits of V01 and the reader's own safety cap.
const (
	DefaultMaxXMLBytes      = 45 << 20  // V01: a plain XML bundle
	DefaultMaxZipBytes      = 100 << 20 // V01: a zipped bundle, measured as the .zip
	DefaultMaxUnzippedBytes = 256 << 20 // safety cap on a zipped bundle's content (configuration, not a format rule)
	maxDocumentNodes        = 300_000   // elements kept per document (a full 9999-line document has about 200 000)
	maxFindingsPerDocument  = 200
	maxFileFindings         = 1000
)

// Options configure [Validate]. The zero value validates in the sender
// profile with the built-in element table and bank calendar, without the
// sender register (V24, V48 are then skipped) and without the duplicate-bundle
// check (V10 is then skipped).
type Options struct {
	Profile Profile        // default ProfileSender
	Senders SenderRegister // V24, V48; nil skips them
	Bundles BundleRegistry // V10; nil skips it
	// ServiceProvider is the party that delivered the file, known from the
	// transport, part of the V10 key.
	ServiceProvider  string
	ReceivedAt       time.Time     // V10's year, in Danish time; default now
	Schema           *Schema       // default DefaultSchema()
	Calendar         *BankCalendar // V46; default DanishBankCalendar()
	MaxXMLBytes      int64         // default DefaultMaxXMLBytes
	MaxZipBytes      int64         // default DefaultMaxZipBytes
	MaxUnzippedBytes int64         // default DefaultMaxUnzippedBytes
	// File names the input in the result; default "-".
	File string
	// Document, when set, is called with each document of a bundle that
	// passed the file rules, after its document rules ran (unless
	// SkipDocumentRules). The callback may keep the Document. Bundle rules are
	// decided only at the end, so the final verdict is in the Result.
	Document func(*Document, *DocumentResult) error
	// KeepRaw keeps each document's own bytes, for Document.Raw. It costs a
	// copy of each document while it is read.
	KeepRaw bool
	// SkipDocumentRules applies the file and bundle rules (V01 to V10, and
	// V51 across documents) but not the document rules (V11 to V50): for
	// a caller that judges each document apart with [ValidateDocument], as
	// efaktura's intake does, and would otherwise apply them twice. A
	// document's result then holds V51 findings only, so its Valid, and
	// the Result's, speak for those rules alone, not for the documents.
	SkipDocumentRules bool
}

func (o Options) withDefaults() Options {
	if o.Profile == "" {
		o.Profile = ProfileSender
	}
	if o.ReceivedAt.IsZero() {
		o.ReceivedAt = time.Now()
	}
	if o.Schema == nil {
		o.Schema = DefaultSchema()
	}
	if o.Calendar == nil {
		o.Calendar = DanishBankCalendar()
	}
	if o.MaxXMLBytes <= 0 {
		o.MaxXMLBytes = DefaultMaxXMLBytes
	}
	if o.MaxZipBytes <= 0 {
		o.MaxZipBytes = DefaultMaxZipBytes
	}
	if o.MaxUnzippedBytes <= 0 {
		o.MaxUnzippedBytes = DefaultMaxUnzippedBytes
	}
	if o.File == "" {
		o.File = "-"
	}
	return o
}

// ErrProfile is returned for an unknown [Profile].
var ErrProfile = errors.New("efaktura: unknown profile")

// Validate reads one bundle from r, XML or a ZIP archive holding one XML
// file, and applies every rule of the format. Content problems, however bad,
// are findings in the Result; the error is non-nil only when r itself fails,
// ctx ends, or the options are wrong. Memory stays bounded by one document,
// not the bundle. A ZIP archive is read into memory to be opened, unless r
// can be read at offsets from its start (an io.ReaderAt with a Size method,
// such as *io.SectionReader or *bytes.Reader, read from the beginning):
// then it is opened where it is.
func Validate(ctx context.Context, r io.Reader, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	if opts.Profile != ProfileSender && opts.Profile != ProfileDelivered {
		return nil, fmt.Errorf("%w: %q", ErrProfile, opts.Profile)
	}
	v := &validation{ctx: ctx, opts: opts, res: &Result{File: opts.File, Ruleset: Ruleset,
		Findings: []Finding{}, Documents: []DocumentResult{}}}
	if opts.Senders == nil {
		v.res.Skipped = append(v.res.Skipped,
			SkippedRule{"V24", "no sender register given"}, SkippedRule{"V48", "no sender register given"})
	}
	if opts.Bundles == nil {
		v.res.Skipped = append(v.res.Skipped, SkippedRule{"V10", "no duplicate-bundle register given"})
	}
	var head [4]byte
	n, err := io.ReadFull(r, head[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("read %s: %w", opts.File, err)
	}
	br := io.MultiReader(bytes.NewReader(head[:n]), r)
	var in io.Reader
	if isZip(head[:n]) {
		ra, _ := r.(sizedReaderAt)
		entry, err := v.unzip(br, ra)
		if err != nil || entry == nil {
			return v.finish(), err
		}
		defer entry.Close()
		in = entry
	} else {
		in = &limitReader{r: br, n: opts.MaxXMLBytes, err: errTooLarge}
	}
	if err := v.run(in); err != nil {
		return nil, err
	}
	return v.finish(), nil
}

// isZip reports whether a file starts like a ZIP archive: a local file
// header, or the end record of an empty archive, or a spanning marker.
func isZip(head []byte) bool {
	switch string(head) {
	case "PK\x03\x04", "PK\x05\x06", "PK\x07\x08":
		return true
	}
	return false
}

var (
	errTooLarge         = errors.New("file too large")
	errUnzippedTooLarge = errors.New("zip content too large")
)

// limitReader fails with err once more than n bytes were read, so a size
// limit holds whatever the headers or archive claim.
type limitReader struct {
	r   io.Reader
	n   int64
	err error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, l.err
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, l.err
	}
	return n, err
}

// sizedReaderAt is a file that can be read at offsets: a ZIP archive in one
// is opened where it is, without reading it into memory.
type sizedReaderAt interface {
	io.ReaderAt
	Size() int64
}

// unzip opens the single XML file of a zipped bundle, from ra when it is
// not nil, else by reading r. It returns nil and no error when a V01
// finding was recorded.
func (v *validation) unzip(r io.Reader, ra sizedReaderAt) (*zipEntry, error) {
	limit := v.opts.MaxZipBytes
	tooLarge := func() (*zipEntry, error) {
		v.fileError("V01", "/", pos{}, "V01.zip_size", number(strconv.FormatInt(limit, 10)), byteSize(limit))
		return nil, nil
	}
	if ra == nil {
		data, err := io.ReadAll(&limitReader{r: r, n: limit, err: errTooLarge})
		if errors.Is(err, errTooLarge) {
			return tooLarge()
		}
		if err != nil {
			return nil, fmt.Errorf("read zip: %w", err)
		}
		ra = bytes.NewReader(data)
	} else if ra.Size() > limit {
		return tooLarge()
	}
	zr, err := zip.NewReader(ra, ra.Size())
	if err != nil {
		v.fileError("V01", "/", pos{}, "V01.zip_unreadable", err)
		return nil, nil
	}
	// Directory entries are not files; archivers add them freely.
	var files []*zip.File
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() {
			files = append(files, f)
		}
	}
	if len(files) != 1 {
		v.fileError("V01", "/", pos{}, "V01.zip_files", pluralOf(len(files), "fil", "filer", "file", "files"))
		return nil, nil
	}
	f, err := files[0].Open()
	if err != nil {
		v.fileError("V01", "/", pos{}, "V01.zip_open", err)
		return nil, nil
	}
	return &zipEntry{f: f, limit: limitReader{r: f, n: v.opts.MaxUnzippedBytes, err: errUnzippedTooLarge}}, nil
}

// zipEntry reads a zip entry, turning archive corruption into a V01 matter.
type zipEntry struct {
	f     io.ReadCloser
	limit limitReader // over f
}

// Close closes the entry, which hands its decompressor back to archive/zip's
// pool for the next zipped bundle.
func (z *zipEntry) Close() error { return z.f.Close() }

func (z *zipEntry) Read(p []byte) (int, error) {
	n, err := z.limit.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, errUnzippedTooLarge) {
		err = &zipError{err}
	}
	return n, err
}

type zipError struct{ err error }

func (e *zipError) Error() string { return e.err.Error() }
func (e *zipError) Unwrap() error { return e.err }

// validation is the state of one Validate call.
type validation struct {
	ctx  context.Context
	opts Options
	s    *scanner
	res  *Result

	fileFailed   bool // an error among V01-V06: the bundle is rejected
	bundleFailed bool // an error among V07-V10

	// Bundle level.
	totalChecksum   leafValue
	noOfDocuments   leafValue
	documents       int  // DOCUMENT elements seen
	unreadDocuments bool // documents past the limit of 1000 were skipped
	checksumSum     decimal.Decimal
	checksumMissing []int // documents whose CHECKSUM is missing or not a decimal
	firstSender     [2]string
	receipts        map[[3]string]receipt // V51: sender type, sender id, receipt no -> first use
	arena           []byte
	rootPos         pos      // INVOICES' start tag
	referencePos    pos      // INVOICES/REFERENCE's start tag
	hide            []string // the current document's CPR numbers, hidden in every message
	frames          []frame
	lastNodes       int    // elements of the previous document
	spareNodes      []node // the previous document's tree, when no caller kept it
	seqCounts       []int  // the structure rules' sequence counts, a stack
	rawBuf          []byte // reused capture buffer for KeepRaw
}

// leafValue is one of INVOICES' own leaves.
type leafValue struct {
	present bool
	value   string
	chars   int
	path    string
	at      pos
}

// receipt is where a receipt number was first used in the bundle (V51).
type receipt struct {
	index int
	at    pos
}

// pos is a place in what the reader was given: line and column, 1-based;
// the zero pos stands for the file as a whole.
type pos struct{ line, col int32 }

func (s *scanner) tokPos() pos { return pos{int32(s.tokLine), int32(s.tokCol)} }
func (s *scanner) here() pos   { return pos{int32(s.line), int32(s.col())} }

func elementPos(e Element) pos {
	line, col := e.Position()
	return pos{int32(line), int32(col)}
}

// add records an error finding of rule at path and at, with the message key
// rendered in both languages, unless dst is full. Every finding passes here,
// and so through [render], which is where CPR numbers leave its messages:
// rules echo values as written, and a text value may hold one. Numbers
// (amounts, checksums, identifiers) are left as they are.
func (v *validation) add(dst *[]Finding, limit int, rule, path string, at pos, key string, args ...any) {
	if len(*dst) >= limit {
		v.res.Suppressed++
		return
	}
	da, en := render(key, v.hide, args...)
	*dst = append(*dst, Finding{Rule: rule, Severity: SeverityError, Path: path, Line: int(at.line), Column: int(at.col),
		Message: en, MessageDA: da, MessageEN: en})
}

func (v *validation) fileError(rule, path string, at pos, key string, args ...any) {
	if rule <= "V06" {
		v.fileFailed = true
	} else {
		v.bundleFailed = true
	}
	v.add(&v.res.Findings, maxFileFindings, rule, path, at, key, args...)
}

// finish settles the verdict. A bundle rejected by a file or bundle rule
// reports no documents: none of them is processed.
func (v *validation) finish() *Result {
	r := v.res
	r.Valid = !v.fileFailed && !v.bundleFailed
	if !r.Valid {
		r.Documents = []DocumentResult{}
		return r
	}
	for i := range r.Documents {
		d := &r.Documents[i]
		d.Valid = !hasError(d.Findings)
		r.Valid = r.Valid && d.Valid
	}
	return r
}

func hasError(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}

// run reads the file. Syntax errors and size overruns become findings.
func (v *validation) run(in io.Reader) error {
	v.s = newScanner(in)
	defer v.s.release()
	err := v.read()
	if v.s.rerr != nil {
		err = v.s.rerr // a failed read explains whatever the reader made of the bytes before it
	}
	var syn *SyntaxError
	var zerr *zipError
	switch {
	case err == nil:
	case errors.As(err, &syn):
		v.fileError("V02", "/", pos{int32(syn.Line), int32(syn.Column)}, "V02.syntax", syn.Line, syn.Column, syn.Msg)
	case errors.Is(err, errTooLarge):
		v.fileError("V01", "/", pos{}, "V01.xml_size", number(strconv.FormatInt(v.opts.MaxXMLBytes, 10)), byteSize(v.opts.MaxXMLBytes))
	case errors.Is(err, errUnzippedTooLarge):
		v.fileError("V01", "/", pos{}, "V01.unzipped_size", byteSize(v.opts.MaxUnzippedBytes))
	case errors.As(err, &zerr):
		v.fileError("V01", "/", pos{}, "V01.zip_damaged", zerr.err)
	case errors.Is(err, errStop):
	default:
		return err
	}
	if !v.fileFailed {
		v.bundleRules()
	}
	return nil
}

// errStop ends reading after a finding that leaves nothing sensible to read.
var errStop = errors.New("stop")

var xmlDecl = regexp.MustCompile(`^<\?xml\s+version\s*=\s*(?:"([^"]*)"|'([^']*)')(?:\s+encoding\s*=\s*(?:"([^"]*)"|'([^']*)'))?(?:\s+standalone\s*=\s*(?:"([^"]*)"|'([^']*)'))?\s*\?>`)

// prolog checks the XML declaration (V03).
func (v *validation) prolog() error {
	s := v.s
	for s.end-s.pos < 512 && s.fill() {
	}
	b := s.buf[s.pos:s.end]
	start := pos{1, 1}
	switch {
	case len(b) == 0:
		v.fileError("V03", "/", start, "V03.empty", expectedDecl)
		return errStop
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}), bytes.HasPrefix(b, []byte{0xFE, 0xFF}), bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		v.fileError("V03", "/", start, "V03.bom", expectedDecl)
		return errStop
	case isSpace(b[0]):
		v.fileError("V03", "/", start, "V03.space", expectedDecl)
		return errStop
	}
	m := xmlDecl.FindSubmatch(b)
	if m == nil {
		v.fileError("V03", "/", start, "V03.malformed", expectedDecl)
		return errStop
	}
	pick := func(a, b []byte) ([]byte, bool) {
		if a != nil {
			return a, true
		}
		return b, b != nil
	}
	version, _ := pick(m[1], m[2])
	encoding, hasEnc := pick(m[3], m[4])
	standalone, hasSA := pick(m[5], m[6])
	if string(version) != "1.0" {
		v.fileError("V03", "/", start, "V03.version", strconv.Quote(string(version)))
	}
	if !hasSA || string(standalone) != "yes" {
		v.fileError("V03", "/", start, "V03.standalone", strconv.Quote(string(standalone)))
	}
	if !hasEnc || !strings.EqualFold(string(encoding), "ISO-8859-1") {
		v.fileError("V03", "/", start, "V03.encoding", strconv.Quote(string(encoding)))
		return errStop // the bytes cannot be read as intended
	}
	s.advance(len(m[0]))
	return nil
}

// read walks the file: prolog, root, bundle children, trailing misc.
func (v *validation) read() error {
	if err := v.prolog(); err != nil {
		return err
	}
	s := v.s
	first := true // nothing but white space since the declaration
	for {
		if err := s.next(); err != nil {
			return err
		}
		switch s.kind {
		case tokEOF:
			v.fileError("V02", "/", s.here(), "V02.no_root")
			return nil
		case tokText, tokComment:
			if s.kind == tokComment {
				first = false
			}
			continue
		case tokDoctype:
			v.fileError("V02", "/", s.tokPos(), "V02.doctype", s.line)
			return errStop
		case tokPI:
			v.pi(first)
			first = false
			continue
		case tokStart:
		}
		break
	}
	if string(s.name) != "INVOICES" {
		v.fileError("V06", "/"+string(s.name), s.tokPos(), "V06.root", string(s.name))
		return errStop
	}
	v.rootPos = s.tokPos()
	v.rootAttrs()
	if err := v.readBundle(); err != nil {
		return err
	}
	for {
		if err := s.next(); err != nil {
			return err
		}
		switch s.kind {
		case tokEOF:
			return nil
		case tokPI:
			v.pi(false)
		case tokStart:
			return s.errorf("a second root element <%s> follows </INVOICES>", s.name)
		case tokDoctype:
			return s.errorf("a DOCTYPE declaration after the root element")
		}
	}
}

// pi judges a processing instruction (V05). firstAfterDecl tells whether it
// directly follows the XML declaration, with nothing but white space between;
// only one can, so a second stylesheet is always reported.
func (v *validation) pi(firstAfterDecl bool) {
	target := string(v.s.name)
	at := v.s.tokPos()
	switch {
	case target != "xml-stylesheet":
		v.fileError("V05", "/", at, "V05.other", v.s.tokLine, target)
	case v.opts.Profile == ProfileSender:
		v.fileError("V05", "/", at, "V05.sender", v.s.tokLine)
	case !firstAfterDecl:
		v.fileError("V05", "/", at, "V05.delivered", v.s.tokLine)
	}
}

const (
	xsiNamespace   = "http://www.w3.org/2001/XMLSchema-instance"
	schemaLocation = "efaktura.xsd"
)

// rootAttrs checks INVOICES' attributes (V06, and V04 on their values).
func (v *validation) rootAttrs() {
	want := map[string]string{"xmlns:xsi": xsiNamespace, "xsi:noNamespaceSchemaLocation": schemaLocation}
	seen := map[string]bool{}
	at := v.rootPos
	for _, a := range v.s.attrs {
		if a.control {
			v.fileError("V04", "/INVOICES", at, "V04.root_attr", a.name)
		}
		w, ok := want[a.name]
		switch {
		case a.name == "xmlns":
			v.fileError("V06", "/INVOICES", at, "V06.xmlns", strconv.Quote(a.value))
		case !ok:
			v.fileError("V06", "/INVOICES", at, "V06.attr", a.name)
		case a.value != w:
			v.fileError("V06", "/INVOICES", at, "V06.attr_value", a.name, quoteValue(a.value), strconv.Quote(w))
		}
		seen[a.name] = true
	}
	for _, name := range []string{"xmlns:xsi", "xsi:noNamespaceSchemaLocation"} {
		if !seen[name] {
			v.fileError("V06", "/INVOICES", at, "V06.attr_missing", name, strconv.Quote(want[name]))
		}
	}
}

// byteSize renders a limit, e.g. "47185920 bytes (45 MB)".
func byteSize(n int64) both {
	if n%(1<<20) == 0 {
		return both{fmt.Sprintf("%d byte (%d MB)", n, n>>20), fmt.Sprintf("%d bytes (%d MB)", n, n>>20)}
	}
	return both{fmt.Sprintf("%d byte", n), fmt.Sprintf("%d bytes", n)}
}

// ErrFragment is returned by [ValidateDocument] for bytes that are not one
// well-formed DOCUMENT element.
var ErrFragment = errors.New("efaktura: not a DOCUMENT element")

// ValidateDocument applies the document rules (V11 to V50) to one DOCUMENT
// element, as [Document.Raw] returns it, so a worker can judge a document
// apart from its bundle. index is its 1-based position in the bundle, for
// paths. The file and bundle rules, and V51, which needs the whole bundle,
// are the caller's: the document must come from a bundle that passed them.
// The error is non-nil when raw is not a well-formed DOCUMENT in ISO-8859-1
// (it wraps ErrFragment) or ctx ends.
func ValidateDocument(ctx context.Context, raw []byte, index int, opts Options) (DocumentResult, error) {
	opts = opts.withDefaults()
	v := &validation{ctx: ctx, opts: opts, res: &Result{Findings: []Finding{}, Documents: []DocumentResult{}}}
	v.s = newScanner(bytes.NewReader(raw))
	defer v.s.release()
	doc, err := v.fragment(index)
	if err != nil {
		return DocumentResult{}, err
	}
	if len(v.res.Findings) > 0 {
		f := v.res.Findings[0]
		return DocumentResult{}, fmt.Errorf("%w: %s %s", ErrFragment, f.Rule, f.Message)
	}
	if err := v.document(doc); err != nil {
		return DocumentResult{}, err
	}
	dr := v.res.Documents[0]
	dr.Valid = !hasError(dr.Findings)
	return dr, nil
}

// fragment reads one DOCUMENT element and nothing else.
func (v *validation) fragment(index int) (*Document, error) {
	s := v.s
	for {
		if err := s.next(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrFragment, err)
		}
		if s.kind == tokStart {
			break
		}
		if s.kind != tokText || s.textFlags&textNonSpace != 0 {
			return nil, fmt.Errorf("%w: expected <DOCUMENT> first", ErrFragment)
		}
	}
	if string(s.name) != "DOCUMENT" {
		return nil, fmt.Errorf("%w: found <%s>", ErrFragment, s.name)
	}
	doc, err := v.readDocument(index)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFragment, err)
	}
	for {
		if err := s.next(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrFragment, err)
		}
		switch {
		case s.kind == tokEOF:
			return doc, nil
		case s.kind != tokText && s.kind != tokComment, s.textFlags&textNonSpace != 0:
			return nil, fmt.Errorf("%w: something follows </DOCUMENT>", ErrFragment)
		}
	}
}
