package admin_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/admin"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/apitest"
)

// loadDoc loads the admin document and fails t unless it is valid.
func loadDoc(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(admin.OpenAPI)
	if err != nil {
		t.Fatalf("loading openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid: %v", err)
	}
	return doc
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// routes returns the routes the admin server registers, as "METHOD /path"
// with OpenAPI path parameters, leaving out the profiles.
func routes() []string {
	var out []string
	for _, r := range admin.New(admin.Deps{}).Routes() {
		if strings.HasPrefix(r.Path, "/debug/pprof") {
			continue
		}
		out = append(out, r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}"))
	}
	slices.Sort(out)
	return out
}

// compareRoutes returns the registered routes doc has no operation for,
// and the operations of doc that no route serves.
func compareRoutes(doc *openapi3.T, registered []string) (missing, stale []string) {
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}

	for _, r := range registered {
		if !slices.Contains(documented, r) {
			missing = append(missing, r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			stale = append(stale, d)
		}
	}
	slices.Sort(stale)
	return missing, stale
}

func TestOpenAPI_Valid(t *testing.T) {
	doc := loadDoc(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if _, ok := doc.Components.SecuritySchemes["adminToken"]; !ok || len(doc.Security) == 0 {
		t.Error("the document does not require the admin token")
	}
}

func TestOpenAPI_EveryRouteDocumented(t *testing.T) {
	registered := routes()
	if len(registered) < 20 {
		t.Fatalf("only %d admin routes found: %v", len(registered), registered)
	}
	missing, stale := compareRoutes(loadDoc(t), registered)
	if len(missing) > 0 {
		t.Errorf("routes missing from openapi.yaml: %v", missing)
	}
	if len(stale) > 0 {
		t.Errorf("operations in openapi.yaml that admin.New does not register: %v", stale)
	}
}

func TestOpenAPI_MissingPathIsReported(t *testing.T) {
	doc := loadDoc(t)
	doc.Paths.Delete("/admin/v1/clients/{id}/templates/{name}")
	missing, stale := compareRoutes(doc, routes())
	want := []string{"DELETE /admin/v1/clients/{id}/templates/{name}",
		"PUT /admin/v1/clients/{id}/templates/{name}"}
	if diff := cmp.Diff(want, missing); diff != "" || len(stale) > 0 {
		t.Errorf("missing (-want +got):\n%s\nstale: %v", diff, stale)
	}
}

func TestOpenAPI_ServedBehindTheToken(t *testing.T) {
	api := apitest.Start(t, nil)
	r := api.Send(api.AdminRequest(http.MethodGet, "/admin/v1/openapi.yaml", nil))
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET /admin/v1/openapi.yaml = %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	if string(r.Body) != string(admin.OpenAPI) {
		t.Error("the served document is not the embedded one")
	}

	req := api.AdminRequest(http.MethodGet, "/admin/v1/openapi.yaml", nil)
	req.Header.Del("Authorization")
	if r := api.Send(req); r.Status != http.StatusUnauthorized || r.Code() != "UNAUTHORIZED" {
		t.Errorf("without the token = %d %s, want 401 UNAUTHORIZED", r.Status, r.Body)
	}
}
