package httpapi

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// Schemas are written from the Go types the handlers decode and encode, by
// reflection, following encoding/json's rules (json tags, omitempty,
// embedded structs, pointers and nil slices as null). Objects allow no
// other properties, so a response field the description lacks fails the
// tests' validation, and so does a request field the handler would refuse.

var (
	timeType      = reflect.TypeFor[time.Time]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
)

// OneOf is a Request or Response of one of several types: a handler that
// answers one shape or another (depending on the resource) names each.
// The types must be told apart by their properties (objects allow no
// other properties, so exactly one matches).
type OneOf []any

// Schema returns the JSON Schema (OpenAPI 3.1) of v's type. For a
// response every field without omitempty is required; for a request none
// is (the handler answers a missing one with 422 naming it).
func Schema(v any, response bool) map[string]any {
	if v == nil {
		return map[string]any{}
	}
	if alts, ok := v.(OneOf); ok {
		out := make([]any, len(alts))
		for i, a := range alts {
			out[i] = Schema(a, response)
		}
		return map[string]any{"oneOf": out}
	}
	return schemaOf(reflect.TypeOf(v), response, 0)
}

func nullable(s map[string]any) map[string]any {
	if t, ok := s["type"].(string); ok {
		s["type"] = []string{t, "null"}
	}
	return s
}

func schemaOf(t reflect.Type, response bool, depth int) map[string]any {
	if depth > 16 {
		return map[string]any{}
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && (t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType)):
		return map[string]any{}
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && t.Kind() != reflect.String && t.Implements(textType):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(schemaOf(t.Elem(), response, depth+1))
	case reflect.Interface:
		return map[string]any{}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		s := map[string]any{"type": "array", "items": schemaOf(t.Elem(), response, depth+1)}
		if t.Kind() == reflect.Slice {
			return nullable(s)
		}
		return s
	case reflect.Map:
		return nullable(map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), response, depth+1)})
	case reflect.Struct:
		return structSchema(t, response, depth)
	}
	return map[string]any{}
}

func structSchema(t reflect.Type, response bool, depth int) map[string]any {
	props := map[string]any{}
	var required []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			ft := f.Type
			if f.Anonymous && name == "" {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			s := schemaOf(ft, response, depth+1)
			if strings.Contains(opts, "string") {
				s = map[string]any{"type": "string"}
			}
			if d := f.Tag.Get("doc"); d != "" {
				s["description"] = d
			}
			if e := f.Tag.Get("enum"); e != "" { // the values a field takes: enum:"a,b"
				s["enum"] = strings.Split(e, ",")
			}
			props[name] = s
			if response && !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
				required = append(required, name)
			}
		}
	}
	walk(t)
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}
