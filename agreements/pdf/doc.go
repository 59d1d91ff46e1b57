// Package pdf is the PDF engine of the documents: it lays out, renders
// and seals the documents of a case — the one-time notice (一次告知单), the
// delegation agreement (代办服务委托协议书) and the handover receipt
// (签收单) — lays out the unsealed intake receipt (受理回执), and the
// monthly dispatch report (每月调度报告) from the figures cases/reports
// gathers. It does no database or HTTP work of its own; the workflow that
// issues, signs, seals and verifies documents is package agreements.
//
// Files by job: agreement.go, notice.go, receipt.go, intake.go and
// report.go (with chart.go, its bar charts) lay out one kind of document
// each; layout.go holds the blocks they are built of (headings,
// paragraphs, tables, signature and QR boxes, the footer) and canvas.go
// the page underneath (pages, text runs, shapes, images, the two passes'
// state); text.go breaks lines; fonts.go and subset.go load the fonts
// and cut a subset per document; render.go runs the two passes; seal.go
// and signature.go handle the seal and handwritten signatures; validate.go
// checks input fields.
//
// # Fonts
//
// Every document is set in LXGW WenKai (Debian package fonts-lxgw-wenkai).
// Characters it lacks — CJK Extension A/B and rarer — come from HanaMin A and
// HanaMin B (package fonts-hanazono). All three are TrueType-outline fonts,
// which is what gofpdf needs. LoadFonts maps them once (read-only);
// Fonts.Check tells, per text field, whether every character can be
// printed, and every renderer method checks every field before it starts.
//
// Debian packages: fonts-lxgw-wenkai and fonts-hanazono at run time; the
// tests also use poppler-utils (pdftotext, pdffonts, pdftoppm, pdfsig) and
// libnss3-tools (certutil).
//
// Each document is laid out twice: a measuring pass collects every
// character it prints and counts the pages, then the renderer builds, from
// the fonts parsed at start-up, a tiny TrueType font per face holding only
// those glyphs and draws the document with them. gofpdf therefore never
// parses or subsets a 16–30 MB font per document, which is where its time
// goes otherwise (see BenchmarkAgreement).
//
// gofpdf writes text as UTF-16 code units mapped 1:1 to CIDs, so it cannot
// address characters outside the Basic Multilingual Plane (Extension B and
// up). The subset fonts give each such character a private-use code point
// (U+E000…) and the page wraps it in a marked-content span whose /ActualText
// is the real character, so copy/paste and pdftotext return it.
//
// # Line breaking
//
// gofpdf's MultiCell/SplitText drop a CJK character at each automatic line
// break, so this package wraps text itself: widths come from the fonts'
// horizontal metrics (the same 1/1000 em rounding gofpdf uses), every line is
// printed run by run (a run is a stretch of characters set in one face), and
// closing punctuation never starts a line nor opening punctuation ends one.
//
// # Concurrency
//
// A Renderer is safe for concurrent use. At most Pool(n) documents (default
// GOMAXPROCS) render at once; further callers wait, and the *Ctx variants
// and Do stop waiting when their context ends, so a burst of documents never
// starves the rest of the server of CPU.
//
// # Seal
//
// Sealer applies the center's seal as a PAdES baseline B-LT certification
// signature (pades.go: ETSI.CAdES.detached, signature timestamp, DSS with
// chains and the root's CRL, DocMDP with /Perms), written as an
// incremental update (pdfupdate.go). The seal certificate and the local
// TSA's (tsa.go) are issued by a self-signed root that InitKeys creates
// alongside; pki.go rotates and revokes them. AddDocTimestamp (docts.go)
// completes a document sealed while the TSA was away. fonttag.go gives
// gofpdf's font subsets their ABCDEF+ tags. pdfsig, qpdf, mutool and
// openssl validate the result (pades_test.go).
package pdf
