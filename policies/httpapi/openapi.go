package httpapi

import (
	"regexp"
	"slices"
	"strings"
)

// Doc describes a route for the OpenAPI document. It sits in the route's
// literal, next to its handler: a new route is described by naming the Go
// types its handler decodes and encodes, and a Chinese summary.
//
//	{Method: http.MethodPost, Path: "/api/v1/things", Obj: "thing", Act: "create", Handler: h.create,
//	  Doc: httpapi.Doc{Summary: "新建", Request: NewThing{}, Response: Thing{}, Status: 201}},
type Doc struct {
	// Summary is one line in Chinese; Notes, if any, say more.
	Summary, Notes string
	// Tag groups the route on the reference page (from the path when "").
	Tag string
	// Request is a value of the JSON body's type (nil: no body).
	Request any
	// Query is a struct whose fields tagged `query:"name"` are the query
	// parameters (`doc:"…"` describes one).
	Query any
	// Response is a value of the success answer's JSON type; Produces
	// names another media type instead (application/pdf, text/csv); with
	// neither the answer has no body.
	Response any
	Produces string
	// Status is the success status (200 when 0).
	Status int
	// IfMatch: the request must carry If-Match with the resource's version
	// (428 without, 409 when stale). Idempotent: an Idempotency-Key header
	// makes a retry return the first answer. ETag: the answer carries the
	// version as ETag.
	IfMatch, Idempotent, ETag bool
	// Partner: the caller is a partner system (public to the staff guard):
	// its key as bearer and the body signed (X-Daiban-Timestamp,
	// X-Daiban-Signature).
	Partner bool
	// Errors are the error codes the handler itself answers, besides
	// those of the guard (unauthenticated, forbidden, not_found) and of
	// any body (invalid, too_large).
	Errors []string
}

// Described reports whether the route has a description.
func (d Doc) Described() bool { return d.Summary != "" }

var pathParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// OpenAPIPath turns an echo path (/cases/:id) into an OpenAPI one
// (/cases/{id}).
func OpenAPIPath(p string) string { return pathParam.ReplaceAllString(p, "{$1}") }

// APIPrefix is the part of the routes the document describes.
const APIPrefix = "/api/v1/"

// OpenAPI returns the OpenAPI 3.1 document of every /api/v1 route
// registered so far.
func (s *Server) OpenAPI() map[string]any {
	paths := map[string]any{}
	for _, rt := range s.routes {
		if !strings.HasPrefix(rt.Path, APIPrefix) {
			continue
		}
		p := OpenAPIPath(rt.Path)
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		item[strings.ToLower(rt.Method)] = operation(rt)
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "代办帮办案件系统 API",
			"version": "1",
			"description": "县级政务服务中心帮办代办案件系统的对外接口。请求与应答均为 JSON（UTF-8）；登录后以 Authorization: Bearer <令牌> 调用。" +
				"错误统一为 {\"error\": {\"code\", \"message\", \"field\"}}，code 见 Error 定义。列表以游标翻页（应答中的 next_cursor 原样放入下一次请求的 cursor）。" +
				"改变案件的请求需带 If-Match（案件版本），可带 Idempotency-Key 以便安全重试。合作方（12345 热线等）以合作方密钥为 Bearer，并按 X-Daiban-Timestamp / X-Daiban-Signature 对请求体签名。",
		},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": map[string]any{"Error": errorSchema()},
			"securitySchemes": map[string]any{
				"bearer":  map[string]any{"type": "http", "scheme": "bearer", "description": "登录（POST /api/v1/login）得到的令牌"},
				"partner": map[string]any{"type": "http", "scheme": "bearer", "description": "合作方密钥（daiban partner add 生成，只显示一次）；另需 X-Daiban-Timestamp 与 X-Daiban-Signature: sha256=<HMAC-SHA-256(密钥, 时间戳 + \".\" + 请求体) 的十六进制>"},
			},
		},
	}
}

func errorSchema() map[string]any {
	codes := make([]string, 0, len(statusOf))
	for c := range statusOf {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return map[string]any{
		"type": "object", "additionalProperties": false, "required": []string{"error"},
		"properties": map[string]any{"error": map[string]any{
			"type": "object", "additionalProperties": false, "required": []string{"code", "message"},
			"properties": map[string]any{
				"code":    map[string]any{"type": "string", "enum": codes, "description": "错误代码：invalid 422，unauthenticated 401，forbidden 403，not_found 404，version_conflict / invalid_transition / duplicate 409，precondition_required 428，too_large 413，too_many_requests 429，unavailable 503，internal 500"},
				"message": map[string]any{"type": "string", "description": "给用户看的中文说明"},
				"field":   map[string]any{"type": "string", "description": "出错的字段（invalid 时）"},
				"case_id": map[string]any{"type": "integer", "description": "duplicate 时：申请人同一事项的在办案件"},
			},
		}},
	}
}

var errorResponse = map[string]any{"$ref": "#/components/schemas/Error"}

func operation(rt Route) map[string]any {
	d := rt.Doc
	op := map[string]any{
		"operationId":         operationID(rt),
		"summary":             d.Summary,
		"tags":                []string{tagOf(rt)},
		"description":         permissionText(rt) + d.Notes,
		"x-daiban-permission": map[string]any{"public": rt.Public, "obj": rt.Obj, "act": rt.Act, "act_param": rt.ActParam, "scoped": rt.Scope != nil},
	}
	switch {
	case d.Partner:
		op["security"] = []any{map[string]any{"partner": []string{}}}
	case rt.Public:
		op["security"] = []any{}
	default:
		op["security"] = []any{map[string]any{"bearer": []string{}}}
	}
	if params := parameters(rt); len(params) > 0 {
		op["parameters"] = params
	}
	if d.Request != nil {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/json": map[string]any{"schema": Schema(d.Request, false)}}}
	}
	op["responses"] = responses(rt)
	return op
}

func permissionText(rt Route) string {
	switch {
	case rt.Doc.Partner:
		return "合作方接口：以合作方密钥为 Bearer，并对请求体签名。"
	case rt.Public:
		return "公开接口，无需登录。"
	case rt.ActParam != "":
		return "需登录；权限为 " + rt.Obj + ":<" + rt.ActParam + ">（按操作而定）" + scopeText(rt) + "。"
	}
	return "需登录；权限 " + rt.Obj + ":" + rt.Act + scopeText(rt) + "。"
}

func scopeText(rt Route) string {
	if rt.Scope != nil {
		return "，且资源须在本人管辖地区内（否则 404）"
	}
	return ""
}

func operationID(rt Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.Method))
	for _, part := range strings.FieldsFunc(strings.TrimPrefix(rt.Path, "/api/v1"), func(r rune) bool { return r == '/' || r == '.' || r == '_' }) {
		by := strings.HasPrefix(part, ":")
		part = strings.TrimPrefix(part, ":")
		if by {
			b.WriteString("By")
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func tagOf(rt Route) string {
	if rt.Doc.Tag != "" {
		return rt.Doc.Tag
	}
	rest := strings.TrimPrefix(rt.Path, APIPrefix)
	first, _, _ := strings.Cut(rest, "/")
	return strings.TrimSuffix(first, ".pdf")
}
