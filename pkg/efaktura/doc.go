// Package efaktura reads, validates and writes bundles in Nets' e-faktura
// XML format 2.1.0: an INVOICES element with 1 to 1000 DOCUMENTs, each an
// invoice, a credit note or a reminder. The format and its rules V01 to V51
// are described in docs/format/efaktura-2.1.0.md; the rule ids are stable.
//
// # Validating
//
// [Validate] reads one bundle from an io.Reader, plain XML in ISO-8859-1 or a
// ZIP archive holding one XML file, and applies every rule in the order of
// section 5.3 of the format:
//
//   - file rules V01 to V06 (size, well-formed XML, declaration, characters,
//     processing instructions, root element);
//   - bundle rules V07 to V10 (INVOICES' own elements, the document count,
//     the bundle checksum, duplicate bundles);
//   - document rules V11 to V51 per DOCUMENT.
//
// A failed file or bundle rule rejects the whole bundle, and the [Result]
// then lists no documents; a failed document rule rejects only that
// document. Every violation found is reported, with its rule id, a path such
// as /INVOICES/DOCUMENT[2]/LINE[3]/AMOUNT/NET_PRICE, the line and column of
// the element's start tag, and a message saying what was found and what was
// expected, in Danish and in English ([Finding]). Positions are relative to
// what the reader was given: the file (the XML inside a ZIP archive) for
// [Validate], the DOCUMENT element for [ValidateDocument]. A rule that cannot run (a register that
// does not answer, an internal error) is an error finding too: a result is
// never valid unless every rule ran.
//
// Content problems are findings, never errors: Validate returns an error
// only when its reader fails, its context ends or its options are wrong.
//
// # What the caller provides
//
// The package does no I/O of its own. Rules that need outside state ask the
// caller through interfaces in [Options]: the sender register
// ([SenderRegister], V24 and V48) and the register of accepted bundles
// ([BundleRegistry], V10). Without them those rules are skipped, and
// [Result.Skipped] says so.
//
// # Reconstructed parts
//
// Much of the original format description is lost. The element table that
// drives the structure rules V11 to V21 is data, embedded from
// data/efaktura-2.1.0-elements.csv and parsed by [ParseSchema], so that the
// official tables can replace it; [Options.Schema] takes another table.
// The bank-day calendar of V46 is data too ([BankCalendar]).
//
// # Limits and memory
//
// Memory is bounded by one document, not by the bundle: documents are read
// one at a time into a compact tree ([Document], read through [Element])
// and dropped once their rules ran. Values longer than 4 KiB are counted but
// not kept, tags are capped at 64 KiB, nesting at 256 levels, and a zipped
// bundle's content at [Options.MaxUnzippedBytes], whatever the archive
// claims. Findings are capped per document and per file.
//
// # Writing
//
// [Write] renders a [Bundle], a typed model of the format, computing each
// document's CHECKSUM, the bundle's TOTAL_DOCUMENT_CHECKSUM and
// NO_OF_DOCUMENTS. [Sample] builds valid bundles for tests and benchmarks.
//
// The same model reads: [Document.Invoice] returns a document's tree as an
// [Invoice], values as written, so writing it gives the document back; and
// [ReadDocument] reads one stored DOCUMENT element into a tree without
// applying the rules, for a document validated before.
//
// # Rules, messages and reason codes
//
// [Rules] lists the rules with what each requires in Danish and English and
// the closest Peppol clarification reason code ([ReasonCode]) an automatic
// rejection under it carries; docs/findings.md has the table, kept equal to
// the code by a test. The messages come from one catalogue in both
// languages.
//
// # Personal data
//
// FINAL_CUSTOMER may hold a CPR number. Messages never quote it: the value of
// a FINAL_CUSTOMER of type CPR is hidden wherever it would show in a message
// of its document. Text values a message quotes have CPR numbers masked
// (ddmmyy-xxxx or ddmmyyxxxx with a date, package cpr); the values of
// numeric fields, amounts, checksums and identifiers, are never masked.
package efaktura
