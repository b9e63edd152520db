package desk

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, mux *http.ServeMux, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	Routes(mux)
	return mux
}

// TestIndex: / is the desk, in Danish, with the security headers.
func TestIndex(t *testing.T) {
	rec := get(t, newMux(), "/")
	if rec.Code != 200 {
		t.Fatalf("GET /: %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{`<html lang="da">`, `/desk/vendor/dkfds-` + dkfdsVersion + `/css/dkfds.min.css`, `type="module"`} {
		if !strings.Contains(body, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	h := rec.Header()
	for k, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-cache",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "script-src 'self';", "style-src 'self';"} {
		if !strings.Contains(ContentSecurityPolicy, want) {
			t.Errorf("the CSP lacks %s", want)
		}
	}
	if strings.Contains(ContentSecurityPolicy, "unsafe") {
		t.Error("the CSP allows something unsafe")
	}
	// Only / itself: the mux's other routes (the API, /healthz) are not
	// shadowed.
	if rec := get(t, newMux(), "/v1/documents"); rec.Code != 404 {
		t.Errorf("GET /v1/documents on the desk alone: %d, want 404", rec.Code)
	}
}

// TestNoInlineScriptOrStyle: the CSP forbids inline scripts and styles, so
// the desk must have none, or the browser would refuse them.
func TestNoInlineScriptOrStyle(t *testing.T) {
	for p, a := range assets {
		if !strings.HasSuffix(p, ".html") && p != "/" && !strings.HasPrefix(p, "/desk/app/") {
			continue
		}
		s := string(a.body)
		for _, bad := range []*regexp.Regexp{
			regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`), // a script with a body
			regexp.MustCompile(`<style`),
			regexp.MustCompile(`\sstyle=`),
			regexp.MustCompile(`\son[a-z]+=`), // onclick="..." attributes
			regexp.MustCompile(`setAttribute\(\s*'style'`),
			regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write`),
		} {
			if loc := bad.FindStringIndex(s); loc != nil {
				t.Errorf("%s: %q at %d: inline script or style, or HTML from strings", p, s[loc[0]:min(loc[1]+20, len(s))], loc[0])
			}
		}
	}
}

// TestReferencesResolve: every file index.html, the app's modules and the
// vendored CSS refer to is served.
func TestReferencesResolve(t *testing.T) {
	mux := newMux()
	refs := map[string]string{} // target -> referrer
	attr := regexp.MustCompile(`(?:src|href)="(/desk/[^"#]+)`)
	imp := regexp.MustCompile(`from '(\./[^']+)'`)
	url := regexp.MustCompile(`url\(([^)]+)\)`)
	sprite := regexp.MustCompile(`(/desk/vendor/[^'"#]+\.svg)#`)
	cssRule := regexp.MustCompile(`([^{}]*)\{([^{}]*)\}`)
	iconClass := regexp.MustCompile(`^\s*\.icon-[a-z0-9-]+:not\(a\)\s*$`)
	for p, a := range assets {
		s := string(a.body)
		switch {
		case p == "/":
			for _, m := range attr.FindAllStringSubmatch(s, -1) {
				refs[m[1]] = p
			}
			for _, m := range sprite.FindAllStringSubmatch(s, -1) {
				refs[m[1]] = p
			}
		case strings.HasSuffix(p, ".js") && strings.HasPrefix(p, "/desk/app/"):
			for _, m := range imp.FindAllStringSubmatch(s, -1) {
				refs[path.Join(path.Dir(p), m[1])] = p
			}
			for _, m := range sprite.FindAllStringSubmatch(s, -1) {
				refs[m[1]] = p
			}
		case strings.HasSuffix(p, ".css"):
			// Rule by rule, as vendor/update.sh reads it: the desk uses
			// neither the .icon-NAME utility classes nor the logo
			// placeholders, and browsers that read woff2 never ask for the
			// other fonts.
			for _, rule := range cssRule.FindAllStringSubmatch(s, -1) {
				if iconClass.MatchString(rule[1]) {
					continue
				}
				for _, m := range url.FindAllStringSubmatch(rule[2], -1) {
					u := strings.Trim(m[1], `'"`)
					if strings.HasPrefix(u, "data:") || strings.Contains(u, "#") {
						continue
					}
					target := path.Join(path.Dir(p), u)
					if strings.Contains(target, "/fonts/") && !strings.HasSuffix(target, ".woff2") ||
						strings.Contains(target, "placeholder.png") {
						continue
					}
					refs[target] = p
				}
			}
		}
	}
	if len(refs) < 10 {
		t.Fatalf("only %d references found: %v", len(refs), refs)
	}
	for target, from := range refs {
		if rec := get(t, mux, target); rec.Code != 200 {
			t.Errorf("%s, referred to by %s: %d", target, from, rec.Code)
		}
	}
}

// TestCaching: vendored files, whose URLs name their version, are cached
// for a year; the app's own files are revalidated, and an unchanged one
// answers 304.
func TestCaching(t *testing.T) {
	mux := newMux()
	v := get(t, mux, "/desk/vendor/dkfds-"+dkfdsVersion+"/js/dkfds.min.js")
	if v.Code != 200 || !strings.Contains(v.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("vendored JS: %d, Cache-Control %q", v.Code, v.Header().Get("Cache-Control"))
	}
	if ct := v.Header().Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("vendored JS: Content-Type %q", ct)
	}
	a := get(t, mux, "/desk/app/main.js")
	if a.Code != 200 || a.Header().Get("Cache-Control") != "no-cache" || a.Header().Get("ETag") == "" {
		t.Fatalf("app JS: %d, Cache-Control %q, ETag %q", a.Code, a.Header().Get("Cache-Control"), a.Header().Get("ETag"))
	}
	if a.Header().Get("Content-Security-Policy") == "" {
		t.Error("app JS without a CSP")
	}
	if r := get(t, mux, "/desk/app/main.js", "If-None-Match", a.Header().Get("ETag")); r.Code != 304 {
		t.Errorf("app JS with its ETag: %d, want 304", r.Code)
	}
	font := get(t, mux, "/desk/vendor/dkfds-"+dkfdsVersion+"/fonts/IBMPlexSans/complete/woff2/IBMPlexSans-Regular.woff2")
	if font.Code != 200 || font.Header().Get("Content-Type") != "font/woff2" {
		t.Errorf("font: %d, %q", font.Code, font.Header().Get("Content-Type"))
	}
	for _, p := range []string{"/desk/", "/desk/app/", "/desk/app/nope.js", "/desk/index.html", "/desk/vendor/update.sh", "/desk/vendor/SHA256SUMS"} {
		if r := get(t, mux, p); r.Code != 404 {
			t.Errorf("GET %s: %d, want 404", p, r.Code)
		}
	}
}

// TestVendoredSums: the vendored files are exactly those SHA256SUMS lists,
// with those sums: nobody edited a vendored file by hand.
func TestVendoredSums(t *testing.T) {
	f, err := os.Open("vendor/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS: bad line %q", sc.Text())
		}
		listed[name] = true
		b, err := fs.ReadFile(files, "vendor/"+name)
		if err != nil {
			t.Errorf("%s is listed but not embedded: %v", name, err)
			continue
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: sha256 %x, SHA256SUMS says %s", name, got, sum)
		}
	}
	fs.WalkDir(files, "vendor", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !listed[strings.TrimPrefix(p, "vendor/")] {
			t.Errorf("%s is embedded but not in SHA256SUMS", p)
		}
		return err
	})
	for name := range listed {
		if !strings.HasPrefix(name, "dkfds-"+dkfdsVersion+"/") {
			t.Errorf("%s: not under dkfds-%s", name, dkfdsVersion)
		}
	}
	for p, a := range assets {
		if len(a.body) > 1<<20 {
			t.Errorf("%s is %d bytes, over 1 MiB", p, len(a.body))
		}
	}
}
