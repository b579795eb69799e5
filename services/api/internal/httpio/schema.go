package httpio

import (
	"reflect"
	"strings"
	"sync"
)

// schema is the shape of the JSON a Go type decodes: for a struct, its
// fields by exact JSON name; for a slice, its element; open for maps (with
// their value's shape as elem) and interfaces, which take any key; nil for
// scalars.
type schema struct {
	fields map[string]*schema
	elem   *schema
	open   bool
}

var schemas sync.Map // reflect.Type -> *schema

// schemaOf returns the schema of the value v points to.
func schemaOf(v any) *schema {
	t := reflect.TypeOf(v)
	if s, ok := schemas.Load(t); ok {
		return s.(*schema)
	}
	s := build(t, map[reflect.Type]*schema{})
	schemas.Store(t, s)
	return s
}

func build(t reflect.Type, seen map[reflect.Type]*schema) *schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := seen[t]; ok {
		return s
	}
	switch t.Kind() {
	case reflect.Struct:
		s := &schema{fields: map[string]*schema{}}
		seen[t] = s
		addFields(s, t, seen)
		return s
	case reflect.Slice, reflect.Array:
		return &schema{elem: build(t.Elem(), seen)}
	case reflect.Map:
		return &schema{open: true, elem: build(t.Elem(), seen)}
	case reflect.Interface:
		return &schema{open: true}
	default:
		return nil
	}
}

// addFields adds t's JSON fields to s, flattening embedded structs as
// encoding/json does.
func addFields(s *schema, t reflect.Type, seen map[reflect.Type]*schema) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(s, ft, seen)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		s.fields[name] = build(f.Type, seen)
	}
}
