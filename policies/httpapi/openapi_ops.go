package httpapi

import (
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/daiban/daiban"
)

// parameters lists a route's path, query and header parameters.
func parameters(rt Route) []any {
	var out []any
	for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
		s := map[string]any{"type": "string"}
		if m[1] == "id" {
			s = map[string]any{"type": "integer", "minimum": 1}
		}
		out = append(out, map[string]any{"name": m[1], "in": "path", "required": true, "schema": s})
	}
	if q := rt.Doc.Query; q != nil {
		t := reflect.TypeOf(q)
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("query"), ",")
			if name == "" {
				continue
			}
			p := map[string]any{"name": name, "in": "query", "required": opts == "required", "schema": schemaOf(f.Type, false, 0)}
			if d := f.Tag.Get("doc"); d != "" {
				p["description"] = d
			}
			out = append(out, p)
		}
	}
	if rt.Doc.Partner {
		out = append(out,
			map[string]any{"name": "X-Daiban-Timestamp", "in": "header", "required": true, "schema": map[string]any{"type": "string", "pattern": "^[0-9]+$"},
				"description": "请求时间（Unix 秒）；与服务器时间相差超过 5 分钟的请求被拒绝"},
			map[string]any{"name": "X-Daiban-Signature", "in": "header", "required": true, "schema": map[string]any{"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"},
				"description": "sha256=<HMAC-SHA-256(合作方密钥, 时间戳 + \".\" + 请求体) 的十六进制>"})
	}
	if rt.Doc.IfMatch {
		out = append(out, map[string]any{"name": "If-Match", "in": "header", "required": true, "schema": map[string]any{"type": "string"},
			"description": "案件当前版本（如 \"3\"，即上次应答中的 version 或 ETag）；缺少时 428，已过时 409 version_conflict"})
	}
	if rt.Doc.Idempotent {
		out = append(out, map[string]any{"name": "Idempotency-Key", "in": "header", "required": false, "schema": map[string]any{"type": "string", "maxLength": 200},
			"description": "幂等键：同一用户以同一键重发同一请求，得到第一次的应答，不会重复执行"})
	}
	return out
}

// errorCodes are the error codes a route may answer.
func errorCodes(rt Route) []string {
	codes := []string{daiban.EINTERNAL, daiban.EUNAVAILABLE}
	if !rt.Public || rt.Doc.Partner {
		codes = append(codes, daiban.EUNAUTHENTICATED, daiban.EFORBIDDEN)
	}
	if rt.Scope != nil || strings.Contains(rt.Path, ":") {
		codes = append(codes, daiban.ENOTFOUND)
	}
	if rt.Doc.Request != nil || rt.Doc.Query != nil || rt.ActParam != "" {
		codes = append(codes, daiban.EINVALID)
	}
	if rt.Doc.Request != nil {
		codes = append(codes, daiban.ETOOLARGE)
	}
	if rt.Doc.IfMatch {
		codes = append(codes, daiban.EPRECONDITIONREQUIRED, daiban.EVERSIONCONFLICT, daiban.EINVALIDTRANSITION)
	}
	codes = append(codes, rt.Doc.Errors...)
	slices.Sort(codes)
	return slices.Compact(codes)
}

// responses writes the success answer and every error answer (the error
// envelope) of a route; "default" covers any other status with the same
// envelope.
func responses(rt Route) map[string]any {
	d := rt.Doc
	status := d.Status
	if status == 0 {
		status = http.StatusOK
	}
	ok := map[string]any{"description": "成功"}
	switch {
	case d.Response != nil:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": Schema(d.Response, true)}}
	case d.Produces != "":
		ok["content"] = map[string]any{d.Produces: map[string]any{"schema": map[string]any{}}}
	}
	if d.ETag {
		ok["headers"] = map[string]any{"ETag": map[string]any{"description": "资源版本（作 If-Match 用）", "schema": map[string]any{"type": "string"}}}
	}
	out := map[string]any{strconv.Itoa(status): ok}
	envelope := map[string]any{"application/json": map[string]any{"schema": errorResponse}}
	byStatus := map[int][]string{}
	for _, c := range errorCodes(rt) {
		byStatus[statusOf[c]] = append(byStatus[statusOf[c]], c)
	}
	for st, codes := range byStatus {
		out[strconv.Itoa(st)] = map[string]any{"description": strings.Join(codes, "、"), "content": envelope}
	}
	out["default"] = map[string]any{"description": "其他错误（统一错误格式）", "content": envelope}
	return out
}
