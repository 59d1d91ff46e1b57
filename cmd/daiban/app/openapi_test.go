package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// TestEveryRouteIsDescribed: every /api/v1 route of the route table has a
// description, the served document is valid OpenAPI 3.1 that lists each
// of them, and the reference page shows each.
func TestEveryRouteIsDescribed(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	for _, rt := range env.App.HTTP.Routes() {
		if strings.HasPrefix(rt.Path, "/api/v1/") && !rt.Doc.Described() {
			t.Errorf("%s %s has no description (add Doc: httpapi.Doc{Summary: …, Request: …, Response: …} to its route)", rt.Method, rt.Path)
		}
	}
	r := env.Do(t, "", http.MethodGet, "/api/v1/openapi.json", nil, nil).Must(t, 200)
	doc, err := openapi3.NewLoader().LoadFromData(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Errorf("document does not validate: %v", err)
	}
	page := env.Do(t, "", http.MethodGet, "/api/docs", nil, nil).Must(t, 200)
	for _, rt := range env.App.HTTP.Routes() {
		if !strings.HasPrefix(rt.Path, "/api/v1/") {
			continue
		}
		p := strings.NewReplacer(":id", "{id}").Replace(rt.Path)
		if item := doc.Paths.Find(openapiPath(rt.Path)); item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("%s %s missing from openapi.json", rt.Method, rt.Path)
		}
		if !strings.Contains(string(page.Body), ">"+openapiPath(rt.Path)+"<") {
			t.Errorf("%s %s missing from the reference page", rt.Method, p)
		}
	}
	if strings.Contains(string(page.Body), "http://") && strings.Contains(string(page.Body), "<script") {
		t.Error("the reference page loads something from elsewhere")
	}
}

func openapiPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}
