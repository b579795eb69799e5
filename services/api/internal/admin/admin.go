// Package admin is mfa-api's operator API, served on its own listener
// (MFA_ADMIN_ADDR) behind a static bearer token (MFA_ADMIN_TOKEN). mfactl is
// a thin client of it. Operations that need challenge state or keys run
// here, inside the process that holds them.
package admin

import (
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/branding"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/clients"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/dlq"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/httpio"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/oauth"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

// Deps are what the admin API needs.
type Deps struct {
	Token    string
	Clients  *clients.Registry
	Keys     *oauth.Keys
	DLQ      *dlq.Service
	Store    *store.Store
	Branding *branding.Service
	Logger   *slog.Logger
}

type server struct {
	Deps
}

// errUnauthorized is a missing or wrong admin token.
var errUnauthorized = errors.New("admin token required")

// errUnavailable marks a failure of the store or of JetStream, which a
// later try may not meet.
var errUnavailable = errors.New("admin: unavailable")

// msgUnavailable is the message of a 503 answer.
const msgUnavailable = "the store or the event stream is unavailable; try again"

// New returns the admin API's handler.
func New(d Deps) *echo.Echo {
	s := &server{Deps: d}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(httpio.WithRequestID, middleware.Recover(), httpio.NoStore, s.authorize, s.recordAudit)

	// Profiles for operators, behind the same token.
	e.GET("/debug/pprof/*", echo.WrapHandler(profiles()))

	g := e.Group("/admin/v1")
	g.POST("/clients", s.createClient)
	g.GET("/clients", s.listClients)
	g.GET("/clients/:id", s.getClient)
	g.PATCH("/clients/:id", s.updateClient)
	g.POST("/clients/:id/disable", s.setDisabled(true))
	g.POST("/clients/:id/enable", s.setDisabled(false))
	g.POST("/clients/:id/rotate-secret", s.rotateSecret)
	g.POST("/keys/rotate", s.rotateKeys)
	g.GET("/keys", s.listKeys)
	g.GET("/dlq", s.listDLQ)
	g.POST("/dlq/replay", s.replayDLQ)
	g.POST("/limits/clear", s.clearLimits)
	g.PUT("/clients/:id/templates/:name", s.putTemplate)
	g.GET("/clients/:id/templates", s.listTemplates)
	g.DELETE("/clients/:id/templates/:name", s.deleteTemplate)
	g.POST("/clients/:id/templates/:name/preview", s.previewTemplate)
	g.POST("/clients/:id/domains", s.addDomain)
	g.GET("/clients/:id/domains", s.listDomains)
	g.DELETE("/clients/:id/domains/:domain", s.deleteDomain)
	g.POST("/users/erase", s.eraseUser)
	g.GET("/audit", s.listAudit)
	g.GET("/openapi.yaml", serveOpenAPI)

	return e
}

func (s *server) authorize(next echo.HandlerFunc) echo.HandlerFunc {
	want := []byte("Bearer " + s.Token)
	return func(c echo.Context) error {
		got := []byte(c.Request().Header.Get(echo.HeaderAuthorization))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="ciam-mfa-admin"`)
			return errUnauthorized
		}

		return next(c)
	}
}

// handleError maps errors to the same body shape as the public API.
func (s *server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, code, msg := classify(err)
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	s.Logger.Log(c.Request().Context(), level, "admin request failed",
		slog.String(logging.KeyRequestID, httpio.RequestID(c)),
		slog.String(logging.KeyPath, c.Path()), slog.Int(logging.KeyStatus, status), logging.Err(err))
	body := httpio.ErrorBody{Status: "FAILED", Code: code, Message: msg}
	if re, ok := errors.AsType[*replayError](err); ok {
		body.Message = "replay stopped: " + msg + "; what the report lists was done"
		_ = c.JSON(status, replayFailure{ErrorBody: body, Report: re.report})
		return
	}
	_ = c.JSON(status, body)
}

func classify(err error) (int, string, string) {
	var re *httpio.RequestError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &re):
		return http.StatusBadRequest, "INVALID_REQUEST", re.Msg
	case errors.Is(err, clients.ErrInvalidSpec):
		return http.StatusBadRequest, "INVALID_REQUEST", err.Error()
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized, "UNAUTHORIZED", "missing or invalid admin token"
	case errors.Is(err, clients.ErrNotFound):
		return http.StatusNotFound, "NOT_FOUND", "no such client"
	case errors.Is(err, branding.ErrNotFound):
		return http.StatusNotFound, "NOT_FOUND", "no such template or domain"
	case errors.Is(err, branding.ErrInvalid):
		return http.StatusBadRequest, "INVALID_REQUEST", strings.TrimPrefix(err.Error(), "branding: invalid: ")
	case errors.Is(err, errUnavailable), errors.Is(err, branding.ErrUnavailable),
		errors.Is(err, clients.ErrUnavailable):
		return http.StatusServiceUnavailable, "UNAVAILABLE", msgUnavailable
	case errors.Is(err, httpio.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "request body is too large"
	case errors.Is(err, httpio.ErrMediaType):
		return http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json"
	case errors.As(err, &he) && he.Code == http.StatusNotFound:
		return he.Code, "NOT_FOUND", "no such route"
	case errors.As(err, &he) && he.Code == http.StatusMethodNotAllowed:
		return he.Code, "METHOD_NOT_ALLOWED", "method not allowed on this route"
	case errors.As(err, &he) && he.Code < 500:
		return he.Code, strings.ToUpper(strings.ReplaceAll(http.StatusText(he.Code), " ", "_")),
			http.StatusText(he.Code)
	}
	return http.StatusInternalServerError, "INTERNAL", "internal error"
}

// profiles serves net/http/pprof.
func profiles() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
