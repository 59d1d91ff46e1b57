package httpapi

import (
	"reflect"
	"strings"

	"github.com/daiban/daiban"
)

// noNUL refuses a decoded body with a NUL character in any string: JSON
// may carry one (\u0000), PostgreSQL text cannot, and it prints nowhere.
// The error names the field (its JSON name, dotted for nested ones).
func noNUL(v any) error {
	if path, ok := findNUL(reflect.ValueOf(v), ""); ok {
		if path == "" {
			path = "body"
		}
		return daiban.Invalid(path, "不能包含空字符（\\u0000），请删除后重试")
	}
	return nil
}

func findNUL(v reflect.Value, path string) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return findNUL(v.Elem(), path)
	case reflect.String:
		return path, strings.ContainsRune(v.String(), 0)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			if name == "-" {
				continue
			}
			sub := path
			if !f.Anonymous || name != "" {
				if name == "" {
					name = f.Name
				}
				sub = join(path, name)
			}
			if p, ok := findNUL(v.Field(i), sub); ok {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "", false // bytes (base64 in JSON)
		}
		for i := range v.Len() {
			if p, ok := findNUL(v.Index(i), path); ok {
				return p, true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if k := it.Key(); k.Kind() == reflect.String && strings.ContainsRune(k.String(), 0) {
				return path, true
			}
			if p, ok := findNUL(it.Value(), join(path, it.Key().String())); ok {
				return p, true
			}
		}
	}
	return "", false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
