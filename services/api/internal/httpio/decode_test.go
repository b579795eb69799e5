package httpio

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

type sample struct {
	UserName string `json:"userName"`
	Count    *int   `json:"count"`
	Nested   struct {
		A string `json:"a"`
	} `json:"nested"`
}

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"plain", `{"userName":"a","count":1}`, true},
		{"nested", `{"nested":{"a":"x"}}`, true},
		{"unknown", `{"nope":1}`, false},
		{"duplicate", `{"userName":"a","userName":"b"}`, false},
		{"nested duplicate", `{"nested":{"a":"x","a":"y"}}`, false},
		{"same key in sibling objects", `{"nested":{"a":"x"},"userName":"a"}`, true},
		{"wrong type", `{"count":"1"}`, false},
		{"trailing", `{} {}`, false},
		{"array", `[]`, false},
		{"empty", ``, false},
		{"deep", strings.Repeat(`{"nested":`, 10) + `{}` + strings.Repeat(`}`, 10), false},
		{"null", `null`, true},
		{"duplicate in another case", `{"userName":"a","USERNAME":"b"}`, false},
		{"field in another case", `{"USERNAME":"b"}`, false},
		{"field with a folding letter", `{"u\u017ferName":"b"}`, false},
		{"nested field in another case", `{"nested":{"A":"x"}}`, false},
		{"escaped duplicate", `{"userName":"a","user\u004eame":"b"}`, false},
		{"braces in strings", `{"userName":"x{\"userName\":1}[","nested":{"a":"}"}}`, true},
		{"array of objects keeps keys apart", `{"nested":{"a":"x"},"userName":"[{\"a\":1}]"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v sample
			err := DecodeStrict([]byte(tt.body), &v)
			var re *RequestError
			if tt.ok != (err == nil) || (err != nil && !errors.As(err, &re)) {
				t.Fatalf("DecodeStrict(%q) = %v, want ok=%v (and a *RequestError otherwise)", tt.body, err, tt.ok)
			}
		})
	}
}

func TestDecodeStrict_NamesOnlyPlainFields(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"nope":1}`, `unknown field "nope"`},
		{`{"x415833":1}`, "unknown field whose name is not only letters"},
		{`{"userName":"a","x415833":1,"x415833":2}`, "unknown field whose name is not only letters"},
		{`{"a b":1}`, "unknown field whose name is not only letters"},
		{`{"` + strings.Repeat("a", 49) + `":1}`, "unknown field whose name is not only letters"},
	}
	for _, tt := range tests {
		var v sample
		var re *RequestError
		if err := DecodeStrict([]byte(tt.body), &v); !errors.As(err, &re) || re.Msg != tt.want {
			t.Errorf("DecodeStrict(%.60q) = %v, want %q", tt.body, err, tt.want)
		}
	}
}

func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"userName":"a"}`, `{"a":1,"a":2}`, `[`, `{"nested":{"a":"\u0000"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v sample
		err := DecodeStrict(body, &v)
		var re *RequestError
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("DecodeStrict returned %T %v, want only *RequestError", err, err)
		}
		if err != nil && len(re.Msg) > 120 {
			t.Fatalf("error message of %d bytes echoes too much input", len(re.Msg))
		}
		if err != nil && strings.ContainsAny(re.Msg, "0123456789") {
			t.Fatalf("error message %q repeats digits of the input", re.Msg)
		}
	})
}

func BenchmarkDecodeStrict(b *testing.B) {
	body := []byte(`{"userName":"jdoe","count":3,"nested":{"a":"jon.doe@example.com"}}`)
	for b.Loop() {
		var v sample
		if err := DecodeStrict(body, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func TestReadBody_ContentTypes(t *testing.T) {
	tests := []struct {
		contentType string
		ok          bool
	}{
		{"", true},
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"Application/JSON", true},
		{"application/json;charset=UTF-8", true},
		{"application/json; charset=latin1", false},
		{"text/plain", false},
		{"application/jsonx", false},
		{"application/json; charset", false},
	}
	e := echo.New()
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"userName":"a"}`))
			if tt.contentType != "" {
				req.Header.Set(echo.HeaderContentType, tt.contentType)
			}
			body, err := ReadBody(e.NewContext(req, httptest.NewRecorder()), 1024)
			switch {
			case tt.ok && (err != nil || string(body) != `{"userName":"a"}`):
				t.Errorf("ReadBody = %q, %v; want the body", body, err)
			case !tt.ok && !errors.Is(err, ErrMediaType):
				t.Errorf("ReadBody = %q, %v; want ErrMediaType", body, err)
			}
		})
	}
}
