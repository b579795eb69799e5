package apitest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// validator checks responses against an OpenAPI document.
type validator struct {
	name   string
	router routers.Router
	// host is the document's server; requests are routed as if sent there.
	host string
	// strict fails requests to routes the document does not list and
	// answers with a status their operation does not list.
	strict bool
}

// loadSpec loads and validates the OpenAPI document data, which failures
// call name.
func loadSpec(t testing.TB, name string, data []byte, strict bool) *validator {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("%s is not valid: %v", name, err)
	}
	if len(doc.Servers) == 0 {
		t.Fatalf("%s lists no server", name)
	}
	server, err := url.Parse(doc.Servers[0].URL)
	if err != nil {
		t.Fatalf("%s: server: %v", name, err)
	}

	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &validator{name: name, router: router, host: server.Host, strict: strict}
}

// check fails t when the response is not what the document says the route
// answers. Unless the validator is strict, routes the document does not
// list and statuses it does not list are not checked.
func (v *validator) check(t testing.TB, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	routed := req.Clone(context.Background())
	routed.URL.Scheme, routed.URL.Host, routed.Host = "http", v.host, v.host
	route, params, err := v.router.FindRoute(routed)
	if err != nil {
		if v.strict {
			t.Errorf("%s %s is not in %s: %v", req.Method, req.URL.Path, v.name, err)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: routed, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  resp.StatusCode,
		Header:  resp.Header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: v.strict},
	}

	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s answered %d, which %s does not allow: %v\nbody: %s",
			req.Method, req.URL.Path, resp.StatusCode, v.name, err, body)
	}
}
