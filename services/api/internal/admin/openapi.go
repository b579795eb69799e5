package admin

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// OpenAPI is the admin API's OpenAPI 3.0.3 document. It is served at
// GET /admin/v1/openapi.yaml, behind the admin token like every other
// admin route.
//
//go:embed openapi.yaml
var OpenAPI []byte

func serveOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", OpenAPI)
}
