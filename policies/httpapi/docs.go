package httpapi

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// DocsRoutes serves the OpenAPI document and the reference page written
// from it. Register them after every other route: both are built on first
// use from the route table as it stands.
func (s *Server) DocsRoutes() []Route {
	var once sync.Once
	var doc []byte
	var page []byte
	var err error
	build := func() {
		if doc, err = json.MarshalIndent(s.OpenAPI(), "", "  "); err == nil {
			page, err = renderDocs(s.routes)
		}
	}
	return []Route{
		{Method: http.MethodGet, Path: "/api/v1/openapi.json", Public: true, Handler: func(c echo.Context) error {
			once.Do(build)
			if err != nil {
				return err
			}
			return c.Blob(http.StatusOK, "application/json; charset=utf-8", doc)
		}, Doc: Doc{Summary: "本接口说明（OpenAPI 3.1 文档）", Tag: "说明", Produces: "application/json"}},
		{Method: http.MethodGet, Path: "/api/docs", Public: true, Handler: func(c echo.Context) error {
			once.Do(build)
			if err != nil {
				return err
			}
			return c.HTMLBlob(http.StatusOK, page)
		}},
	}
}

type docRoute struct {
	Method, Path, Summary, Notes, Permission string
	Params                                   []map[string]any
	Request                                  map[string]any
	Status                                   int
	Response                                 map[string]any
	Produces                                 string
	Errors                                   []string
	ID                                       string
}

type docTag struct {
	Name   string
	Routes []docRoute
}

func renderDocs(routes []Route) ([]byte, error) {
	byTag := map[string]*docTag{}
	var tags []*docTag
	for _, rt := range routes {
		if !strings.HasPrefix(rt.Path, APIPrefix) {
			continue
		}
		name := tagOf(rt)
		t := byTag[name]
		if t == nil {
			t = &docTag{Name: name}
			byTag[name] = t
			tags = append(tags, t)
		}
		d := docRoute{Method: rt.Method, Path: OpenAPIPath(rt.Path), Summary: rt.Doc.Summary, Notes: rt.Doc.Notes, Permission: permissionText(rt),
			Status: rt.Doc.Status, Produces: rt.Doc.Produces, Errors: errorCodes(rt), ID: operationID(rt)}
		if d.Status == 0 {
			d.Status = http.StatusOK
		}
		for _, p := range parameters(rt) {
			d.Params = append(d.Params, p.(map[string]any))
		}
		if rt.Doc.Request != nil {
			d.Request = Schema(rt.Doc.Request, false)
		}
		if rt.Doc.Response != nil {
			d.Response = Schema(rt.Doc.Response, true)
		}
		t.Routes = append(t.Routes, d)
	}
	slices.SortStableFunc(tags, func(a, b *docTag) int { return strings.Compare(a.Name, b.Name) })
	var buf bytes.Buffer
	err := docsPage.Execute(&buf, map[string]any{"Tags": tags, "Error": errorSchema()})
	return buf.Bytes(), err
}

// typeName writes a schema's type for the page.
func schemaType(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		if t == "array" {
			if items, ok := s["items"].(map[string]any); ok {
				return schemaType(items) + " 数组"
			}
		}
		if f, ok := s["format"].(string); ok {
			return t + "（" + f + "）"
		}
		return t
	case []string:
		return strings.Join(t, " | ")
	}
	if alts, ok := s["oneOf"].([]any); ok {
		names := make([]string, len(alts))
		for i, a := range alts {
			names[i] = schemaType(a.(map[string]any))
		}
		return strings.Join(names, " 或 ")
	}
	return "任意"
}

func fields(s map[string]any) []map[string]any {
	if it, ok := s["items"].(map[string]any); ok {
		s = it
	}
	props, _ := s["properties"].(map[string]any)
	req, _ := s["required"].([]string)
	if alts, ok := s["oneOf"].([]any); ok {
		props, req = oneOfFields(alts)
	}
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]map[string]any, 0, len(names))
	for _, n := range names {
		p := props[n].(map[string]any)
		out = append(out, map[string]any{"Name": n, "Type": schemaType(p), "Required": slices.Contains(req, n), "Doc": p["description"], "Schema": p})
	}
	return out
}

// oneOfFields lists the fields of alternatives together: a field is
// always present only when every alternative has it.
func oneOfFields(alts []any) (map[string]any, []string) {
	props := map[string]any{}
	count := map[string]int{}
	for _, a := range alts {
		s, _ := a.(map[string]any)
		p, _ := s["properties"].(map[string]any)
		for n, v := range p {
			props[n] = v
		}
		r, _ := s["required"].([]string)
		for _, n := range r {
			count[n]++
		}
	}
	var req []string
	for n, c := range count {
		if c == len(alts) {
			req = append(req, n)
		}
	}
	return props, req
}

var docsPage = template.Must(template.New("docs").Funcs(template.FuncMap{"fields": fields, "type": schemaType}).Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>接口说明 · 代办帮办案件系统</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0 auto;max-width:70rem;padding:1rem 1.5rem;line-height:1.55;color:#1d2733}
h1{font-size:1.5rem}h2{border-bottom:2px solid #c4302b;padding-bottom:.2rem;margin-top:2rem}
section.op{border:1px solid #d5dbe3;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
.m{display:inline-block;min-width:4rem;font-weight:700;font-family:monospace}.GET{color:#176b2c}.POST{color:#1c4fa0}.PATCH,.PUT{color:#8a5a00}.DELETE{color:#a11}
code,.path{font-family:ui-monospace,monospace}table{border-collapse:collapse;margin:.3rem 0}td,th{border:1px solid #e1e5ea;padding:.15rem .5rem;text-align:left;vertical-align:top}
ul.f{margin:.1rem 0 .1rem 1rem;padding-left:.6rem;border-left:1px dotted #aab}.req{color:#c4302b}.muted{color:#667}
nav{display:flex;flex-wrap:wrap;gap:.3rem .8rem}code,.path{overflow-wrap:anywhere;word-break:break-all}
table{display:block;max-width:100%;overflow-x:auto}section.op{overflow-wrap:anywhere}
</style></head><body>
<h1>代办帮办案件系统 · 接口说明</h1>
<p>本页与 <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>（OpenAPI 3.1）由同一张路由表生成，二者始终一致。请求与应答均为 JSON（UTF-8）。
登录（<code>POST /api/v1/login</code>）后以 <code>Authorization: Bearer &lt;令牌&gt;</code> 调用；合作方（12345 热线等）以合作方密钥为 Bearer，并对请求体签名：
<code>X-Daiban-Timestamp</code>（Unix 秒）与 <code>X-Daiban-Signature: sha256=&lt;HMAC-SHA-256(密钥, 时间戳 + "." + 请求体) 的十六进制&gt;</code>，超过 5 分钟的请求被拒绝。
改变案件的请求须带 <code>If-Match</code>（案件版本），可带 <code>Idempotency-Key</code> 以便安全重试。列表以游标翻页：把应答中的 <code>next_cursor</code> 原样放入下一次请求的 <code>cursor</code>。</p>
<nav>{{range .Tags}}<a href="#tag-{{.Name}}">{{.Name}}</a>{{end}}<a href="#errors">错误格式</a></nav>
{{define "fields"}}<ul class="f">{{range fields .}}<li><code>{{.Name}}</code> <span class="muted">{{.Type}}</span>{{if .Required}} <span class="req">必有</span>{{end}}{{with .Doc}} — {{.}}{{end}}{{if fields .Schema}}{{template "fields" .Schema}}{{end}}</li>{{end}}</ul>{{end}}
{{range .Tags}}<h2 id="tag-{{.Name}}">{{.Name}}</h2>
{{range .Routes}}<section class="op" id="{{.ID}}"><div><span class="m {{.Method}}">{{.Method}}</span> <span class="path">{{.Path}}</span> — {{if .Summary}}{{.Summary}}{{else}}<b class="req">（尚无说明）</b>{{end}}</div>
<p class="muted">{{.Permission}}{{.Notes}}</p>
{{if .Params}}<table><tr><th>参数</th><th>位置</th><th>类型</th><th>说明</th></tr>{{range .Params}}<tr><td><code>{{.name}}</code>{{if .required}} <span class="req">必填</span>{{end}}</td><td>{{.in}}</td><td>{{type .schema}}</td><td>{{.description}}</td></tr>{{end}}</table>{{end}}
{{with .Request}}<div>请求体（JSON）：{{template "fields" .}}</div>{{end}}
<div>成功：{{.Status}}{{if .Produces}}（{{.Produces}}）{{end}}{{with .Response}}，应答（JSON，{{type .}}）：{{template "fields" .}}{{end}}</div>
<div class="muted">可能的错误：{{range $i, $c := .Errors}}{{if $i}}、{{end}}<code>{{$c}}</code>{{end}}</div>
</section>{{end}}{{end}}
<h2 id="errors">错误格式</h2><p>所有错误应答：</p>{{template "fields" .Error}}
</body></html>
`))
