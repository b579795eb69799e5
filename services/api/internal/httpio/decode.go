// Package httpio holds the request and response plumbing that the public
// and admin APIs share: strict JSON bodies, request ids and the error body.
package httpio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// maxDepth bounds nesting in request bodies.
const maxDepth = 8

// ReadBody reads the request body up to limit bytes. It fails with
// ErrTooLarge beyond that and ErrMediaType for a non-JSON content type.
func ReadBody(c echo.Context, limit int64) ([]byte, error) {
	// The usual type is taken as it is; any other is parsed.
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if ct != "" && ct != echo.MIMEApplicationJSON {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, ErrMediaType
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return nil, ErrMediaType
		}
	}

	if c.Request().ContentLength > limit {
		return nil, ErrTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, limit+1))
	if err != nil {
		return nil, BadRequest("request body could not be read")
	}
	if int64(len(body)) > limit {
		return nil, ErrTooLarge
	}
	return body, nil
}

// DecodeStrict decodes one JSON object into v, refusing unknown fields,
// duplicate keys, wrong types, deep nesting and trailing data.
func DecodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return BadRequest("request body must be a JSON object")
	}
	if err := checkKeys(body, schemaOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return BadRequest("request body must hold exactly one JSON object")
	}
	return nil
}

// checkKeys scans the document's bytes, refusing duplicate keys (in any
// letter case) in any object, keys that are not exactly a field of the
// target type (encoding/json would match "USERNAME" or "uſerName" to
// userName), and nesting deeper than maxDepth. It only tracks strings,
// braces and colons; full syntax is checked by the decoder after it, and
// it gives up (nil) where the input is not JSON enough to read keys.
func checkKeys(body []byte, root *schema) error {
	type frame struct {
		keys    []string
		isArray bool
		shape   *schema
		next    *schema // the shape of the value after the last key
	}
	var stack []frame
	for i := 0; i < len(body); i++ {
		switch c := body[i]; c {
		case '{', '[':
			if len(stack) >= maxDepth {
				return BadRequest("request body is nested too deeply")
			}
			shape := root
			if n := len(stack); n > 0 {
				shape = stack[n-1].next
				if stack[n-1].isArray && stack[n-1].shape != nil {
					shape = stack[n-1].shape.elem
				}
			}
			stack = append(stack, frame{isArray: c == '[', shape: shape})
		case '}', ']':
			if len(stack) == 0 {
				return nil
			}
			stack = stack[:len(stack)-1]
		case '"':
			end, ok := stringEnd(body, i)
			if !ok {
				return nil
			}
			if len(stack) > 0 && !stack[len(stack)-1].isArray && followedByColon(body, end+1) {
				key, err := keyText(body[i : end+1])
				if err != nil {
					return nil
				}
				top := &stack[len(stack)-1]
				if err := checkKey(top.keys, top.shape, key); err != nil {
					return err
				}
				top.keys = append(top.keys, key)
				top.next = nil
				switch {
				case top.shape == nil:
				case top.shape.fields != nil:
					top.next = top.shape.fields[key]
				case top.shape.open:
					top.next = top.shape.elem
				}
			}
			i = end
		}
	}
	return nil
}

// checkKey refuses key when the object already has it in any letter case
// (encoding/json would fill one field from both) or when the object's
// shape has no field of exactly that name.
func checkKey(seen []string, shape *schema, key string) error {
	for _, k := range seen {
		if strings.EqualFold(k, key) {
			return BadRequest(fmt.Sprintf("duplicate field %s", quoteField(key)))
		}
	}
	if shape != nil && shape.fields != nil {
		if _, ok := shape.fields[key]; !ok {
			return BadRequest("unknown field " + quoteField(key))
		}
	}
	return nil
}

// stringEnd returns the index of the quote that closes the string opened
// at body[start].
func stringEnd(body []byte, start int) (int, bool) {
	for i := start + 1; i < len(body); i++ {
		switch body[i] {
		case '\\':
			i++
		case '"':
			return i, true
		}
	}
	return 0, false
}

func followedByColon(body []byte, i int) bool {
	for ; i < len(body); i++ {
		switch body[i] {
		case ' ', '\t', '\n', '\r':
		case ':':
			return true
		default:
			return false
		}
	}
	return false
}

// keyText returns a key's text, unescaping it only when it has escapes.
func keyText(quoted []byte) (string, error) {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return string(quoted[1 : len(quoted)-1]), nil
	}
	var s string
	err := json.Unmarshal(quoted, &s)
	return s, err
}

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return BadRequest("request body must be a JSON object")
		}
		return BadRequest(fmt.Sprintf("field %s must be %s", quoteField(typeErr.Field),
			jsonKind(typeErr.Type.Kind().String())))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("request body is not valid JSON")
	// encoding/json has no typed error for an unknown field; its message
	// is the only way to tell.
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return BadRequest("unknown field " + quoteField(strings.Trim(
			strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)))
	default:
		return BadRequest("request body is not valid JSON")
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "float64":
		return "a number"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	default:
		return "an object"
	}
}

// maxQuotedField is the longest field name an error message repeats.
const maxQuotedField = 48

// quoteField quotes a field name from the request for an error message,
// only when it is made of letters, '_', '-' and '.' (as every field name
// and path of the API is) and no longer than maxQuotedField: a name with
// digits could carry a code, and the message goes to the caller and the
// log.
func quoteField(name string) string {
	if name == "" || len(name) > maxQuotedField || strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '-' || r == '.')
	}) {
		return "whose name is not only letters"
	}
	return strconv.Quote(name)
}

// Errors returned by ReadBody.
var (
	// ErrTooLarge is returned for a body over the limit.
	ErrTooLarge = errors.New("request body too large")
	// ErrMediaType is returned for a body that is not application/json in
	// UTF-8.
	ErrMediaType = errors.New("content type must be application/json")
)

// RequestError is a malformed request; its message is ours, never the
// caller's input, and safe to show.
type RequestError struct{ Msg string }

// Error returns the message.
func (e *RequestError) Error() string { return e.Msg }

// BadRequest returns a *RequestError with msg.
func BadRequest(msg string) error { return &RequestError{Msg: msg} }

// ErrorBody is every error response's body.
type ErrorBody struct {
	Status            string `json:"status"`
	Code              string `json:"code"`
	Message           string `json:"message"`
	RemainingAttempts *int   `json:"remainingAttempts,omitempty"`
}
