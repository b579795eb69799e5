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
	"strings"

	"github.com/labstack/echo/v4"
)

// maxDepth bounds nesting in request bodies.
const maxDepth = 8

// ReadBody reads the request body up to limit bytes. It fails with
// ErrTooLarge beyond that and ErrMediaType for a non-JSON content type.
func ReadBody(c echo.Context, limit int64) ([]byte, error) {
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
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
	if err := checkKeys(body); err != nil {
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

// checkKeys walks the document's tokens, refusing duplicate keys in any
// object and nesting deeper than maxDepth.
func checkKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object  bool
		keys    map[string]struct{}
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return BadRequest("request body is not valid JSON")
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				if len(stack) >= maxDepth {
					return BadRequest("request body is nested too deeply")
				}
				if top != nil && top.object {
					top.wantKey = true
				}
				stack = append(stack, &frame{object: t == '{', keys: map[string]struct{}{}, wantKey: true})
				continue
			}

			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].wantKey = true
			}
		case string:
			if top != nil && top.object && top.wantKey {
				if _, dup := top.keys[t]; dup {
					return BadRequest(fmt.Sprintf("duplicate field %s", quoteField(t)))
				}
				top.keys[t] = struct{}{}
				top.wantKey = false
				continue
			}

			if top != nil && top.object {
				top.wantKey = true
			}
		default:
			if top != nil && top.object {
				top.wantKey = true
			}
		}
	}
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

// quoteField quotes a field name from the request, cut short so that an
// error never echoes much of the caller's input.
func quoteField(name string) string {
	if len(name) > 40 {
		name = name[:40] + "…"
	}
	return fmt.Sprintf("%q", name)
}

// Errors returned by ReadBody.
var (
	// ErrTooLarge is returned for a body over the limit.
	ErrTooLarge = errors.New("request body too large")
	// ErrMediaType is returned for a body that is not application/json.
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
