// Package desk is the caseworker's desk: a web UI, in Danish, from which a
// caseworker reads the documents of their municipality and approves or
// rejects them.
//
// The desk is static files: index.html, the app's own ES modules and
// stylesheet under app/ (no build step, no framework), and the design
// system DKFDS (Det Fælles Designsystem) at a pinned version under
// vendor/dkfds-VERSION/ (vendor/README.md says what is vendored and how to
// update it). They are embedded in the binary: nothing comes from a CDN at
// run time.
//
// The desk talks only to decide's public HTTP API (GET /v1/me,
// GET /v1/documents, GET /v1/documents/{id} and its /invoice and /original,
// POST /v1/documents/{id}/verdict, POST /v1/verdicts), as any other UI
// could; it knows nothing the API does not say. decide's worker serves it
// on the same mux as that API ([Routes], called from decide's Setup), so
// bin/decide and efaktura up serve both at one origin: the browser needs
// no CORS and no proxy, and the caseworker's token, kept in the tab's
// sessionStorage and sent as a bearer header, goes nowhere else.
//
// Every response carries a strict Content-Security-Policy (only this
// origin's scripts, styles, fonts and images; no inline script or style;
// no framing), X-Content-Type-Options: nosniff and Referrer-Policy:
// no-referrer. The vendored files, whose URLs name their version, are
// cached for a year; the app's own files are revalidated on every use
// (no-cache with an ETag), so a new binary's desk shows at once.
package desk

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// dkfdsVersion is the vendored DKFDS version; its files are served under
// /desk/vendor/dkfds-<version>/ (vendor/update.sh).
const dkfdsVersion = "11.2.0"

//go:embed index.html app vendor/dkfds-11.2.0
var files embed.FS

// ContentSecurityPolicy is sent with every response of the desk.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'"

// asset is one embedded file as served.
type asset struct {
	body         []byte
	etag         string
	contentType  string
	cacheControl string
}

// assets maps each URL path to its file: "/" to index.html, and
// "/desk/<path>" to every other embedded file.
var assets = load()

func load() map[string]asset {
	out := map[string]asset{}
	vendored := "vendor/dkfds-" + dkfdsVersion + "/"
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a := asset{
			body: b, etag: `"` + hex.EncodeToString(sum[:16]) + `"`,
			contentType:  contentType(name),
			cacheControl: "no-cache",
		}
		if strings.HasPrefix(name, vendored) {
			a.cacheControl = "public, max-age=31536000, immutable"
		}
		if name == "index.html" {
			out["/"] = a
		} else {
			out["/desk/"+name] = a
		}
		return nil
	})
	if err != nil {
		panic("desk: read the embedded files: " + err.Error())
	}
	return out
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".woff2":
		return "font/woff2"
	case ".md", ".txt":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Routes adds the desk to mux:
//
//	GET /{$}     index.html, the desk
//	GET /desk/   its scripts, stylesheets, fonts and icons
//
// Anything else under /desk/ answers 404.
func Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", serve)
	mux.HandleFunc("GET /desk/", serve)
}

func serve(rw http.ResponseWriter, req *http.Request) {
	h := rw.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	a, ok := assets[req.URL.Path]
	if !ok {
		h.Set("Cache-Control", "no-cache")
		http.Error(rw, "404 page not found", http.StatusNotFound)
		return
	}
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", a.cacheControl)
	h.Set("ETag", a.etag)
	// ServeContent answers If-None-Match with 304 and serves ranges.
	http.ServeContent(rw, req, "", time.Time{}, bytes.NewReader(a.body))
}
