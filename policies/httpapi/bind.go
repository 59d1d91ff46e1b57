package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
)

// MaxBody is the default body limit of signed-in routes and the most Bind
// ever reads (a route's own limit, limits.go, is usually smaller).
const MaxBody = 1 << 20

// Bind decodes a JSON body into v strictly: the content type must be JSON,
// unknown fields, wrong types, trailing data and bodies over MaxBody are
// refused with an invalid error that names the field.
func Bind(c echo.Context, v any) error {
	r := c.Request()
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return daiban.Invalid("body", "提交的内容格式不对，无法识别")
		}
	}
	body := http.MaxBytesReader(c.Response(), r.Body, MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return decodeError(err)
		}
		return daiban.Invalid("body", "提交的内容只能是一个数据对象")
	}
	return noNUL(v)
}

// DecodeJSON is Bind for bytes already read (fuzzing, idempotent replays).
func DecodeJSON(data []byte, v any) error {
	if len(data) > MaxBody {
		return errTooLarge
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return daiban.Invalid("body", "提交的内容只能是一个数据对象")
	}
	return noNUL(v)
}

func decodeError(err error) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return errTooLarge
	case errors.Is(err, io.EOF):
		return daiban.Invalid("body", "提交的内容为空")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return daiban.Invalid("body", "JSON 不完整")
	case errors.As(err, &se):
		return daiban.Invalid("body", "JSON 格式错误（第 %d 字节附近）", se.Offset)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return daiban.Invalid("body", "提交的内容应为一个数据对象")
		}
		return daiban.Invalid(field, "字段 %s 的类型错误，应为%s", field, typeName(te.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return daiban.Invalid(name, "未知字段 %s", name)
	}
	var de *daiban.Error
	if errors.As(err, &de) {
		return de
	}
	return daiban.Invalid("body", "请求体无法解析：%s", err.Error())
}

func typeName(kind string) string {
	switch kind {
	case "string":
		return "字符串"
	case "bool":
		return "布尔值"
	case "slice", "array":
		return "数组"
	case "map", "struct":
		return "对象"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "数字"
	}
	return kind
}
