package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/daiban/daiban/policies/httpapi"
)

// Every request the tests make through Do is checked against the OpenAPI
// document the service serves (kin-openapi): the answer always — the
// success body's fields, the error envelope, the status — and, when the
// service accepted it, the request too. A field added to an answer but not
// to its description, or an /api/v1 route without one, fails the test
// that called it.

type contractOp struct {
	pattern *regexp.Regexp
	names   []string
	path    string
	item    *openapi3.PathItem
}

var (
	contractOnce sync.Once
	contractSpec *openapi3.T
	contractOps  []contractOp
	contractErr  error
)

var braces = regexp.MustCompile(`\{([^}]+)\}`)

// loadContract reads the document of the first service started (every
// instance has the same route table).
func (e *Env) loadContract() {
	contractOnce.Do(func() {
		raw, err := json.Marshal(e.App.HTTP.OpenAPI())
		if err != nil {
			contractErr = err
			return
		}
		loader := openapi3.NewLoader()
		if contractSpec, contractErr = loader.LoadFromData(raw); contractErr != nil {
			return
		}
		for path, item := range contractSpec.Paths.Map() {
			var names []string
			for _, m := range braces.FindAllStringSubmatch(path, -1) {
				names = append(names, m[1])
			}
			contractOps = append(contractOps, contractOp{pattern: regexp.MustCompile(braces.ReplaceAllString(regexpQuote(path), `([^/]+)`)), names: names, path: path, item: item})
		}
	})
}

// regexpQuote quotes a path for a pattern, keeping its {name} parts.
func regexpQuote(path string) string {
	parts := braces.Split(path, -1)
	names := braces.FindAllString(path, -1)
	var b strings.Builder
	b.WriteString("^")
	for i, p := range parts {
		b.WriteString(regexp.QuoteMeta(p))
		if i < len(names) {
			b.WriteString(names[i])
		}
	}
	b.WriteString("$")
	return b.String()
}

// find returns the operation of a request; the longest literal path wins
// (/cases/{id} against /reports/monthly.pdf and /reports/monthly).
func findOp(method, path string) (*contractOp, *openapi3.Operation, map[string]string) {
	var best *contractOp
	var params map[string]string
	for i := range contractOps {
		op := &contractOps[i]
		m := op.pattern.FindStringSubmatch(path)
		if m == nil || op.item.GetOperation(method) == nil {
			continue
		}
		if best == nil || len(op.names) < len(best.names) {
			best, params = op, map[string]string{}
			for j, n := range op.names {
				params[n] = m[j+1]
			}
		}
	}
	if best == nil {
		return nil, nil, nil
	}
	return best, best.item.GetOperation(method), params
}

// checkContract validates one exchange.
func (e *Env) checkContract(tb testing.TB, req *http.Request, body []byte, resp *http.Response, data []byte) {
	tb.Helper()
	if !strings.HasPrefix(req.URL.Path, httpapi.APIPrefix) {
		return
	}
	e.loadContract()
	if contractErr != nil {
		tb.Errorf("OpenAPI document does not load: %v", contractErr)
		return
	}
	op, operation, params := findOp(req.Method, req.URL.Path)
	if op == nil {
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			tb.Errorf("%s %s answered %d but the OpenAPI document has no such route", req.Method, req.URL.Path, resp.StatusCode)
		}
		return
	}
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params,
		Route:   &routers.Route{Spec: contractSpec, Path: op.path, PathItem: op.item, Method: req.Method, Operation: operation},
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if resp.StatusCode/100 == 2 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			tb.Errorf("OpenAPI: request %s %s (answered %d) does not match its description: %v", req.Method, op.path, resp.StatusCode, err)
		}
	}
	ct := resp.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/json") && len(data) > 0 && !describesJSON(operation, resp.StatusCode) {
		tb.Errorf("OpenAPI: %s %s answers %d with JSON, but its description has no JSON body for it (describe the route: httpapi.Doc)", req.Method, op.path, resp.StatusCode)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(data)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			ExcludeResponseBody: !strings.HasPrefix(ct, "application/json") || req.Method == http.MethodHead}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		tb.Errorf("OpenAPI: answer %d to %s %s does not match its description: %v\n%s", resp.StatusCode, req.Method, op.path, err, snippet(data))
	}
}

// describesJSON reports whether the operation describes a JSON body for
// the status (or by default).
func describesJSON(op *openapi3.Operation, status int) bool {
	r := op.Responses.Status(status)
	if r == nil {
		r = op.Responses.Default()
	}
	return r != nil && r.Value != nil && r.Value.Content.Get("application/json") != nil
}

func snippet(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}
