package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/clients"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/httpio"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/limits"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/oauth"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/otp"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/totp"
)

// DefaultMaxBody is the default request body limit, 16 KiB.
const DefaultMaxBody = 16 << 10

// Deps are what the public API needs.
type Deps struct {
	OTP     *otp.Service
	TOTP    *totp.Service
	Tokens  *oauth.Tokens
	Keys    *oauth.Keys
	Clients *clients.Registry
	// Ready reports whether the store and JetStream can take requests.
	Ready  func(ctx context.Context) error
	Logger *slog.Logger
	// Issuer is the public base URL, used in the server metadata.
	Issuer string
	// MaxBody is the request body limit in bytes; default DefaultMaxBody.
	MaxBody int64
	// TrustedProxies lists the networks whose X-Forwarded-For is believed.
	TrustedProxies []*net.IPNet
	// Metrics serves /metrics; nil leaves the route out.
	Metrics http.Handler
	// VonageSignatureSecret and VonageSignatureMethod check delivery
	// receipts; without a secret every receipt is refused.
	VonageSignatureSecret string
	VonageSignatureMethod string
}

type server struct {
	Deps
	tokenFailures *limits.Memory
}

// New returns the public API's handler.
func New(d Deps) *echo.Echo {
	if d.MaxBody <= 0 {
		d.MaxBody = DefaultMaxBody
	}
	s := &server{Deps: d, tokenFailures: limits.NewMemory(limits.TokenFailures)}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Logger)
	e.IPExtractor = ipExtractor(d.TrustedProxies)
	e.Use(httpio.WithRequestID, middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll: true, LogErrorFunc: s.logPanic,
	}), httpio.NoStore)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.yaml", serveOpenAPI)
	if d.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(d.Metrics))
	}
	e.POST("/oauth2/token", s.token)
	e.GET("/.well-known/jwks.json", s.jwks)
	e.GET("/.well-known/oauth-authorization-server", s.metadata)

	e.POST("/v1/webhooks/vonage/dlr", s.vonageReceipt)

	// Authentication is route middleware, not the group's: a group's
	// middleware would take every /v1 path, so that a wrong method got 404
	// instead of 405.
	v1 := e.Group("/v1")
	send := []echo.MiddlewareFunc{s.authenticate, requireScope(clients.ScopeOTPSend)}
	validate := []echo.MiddlewareFunc{s.authenticate, requireScope(clients.ScopeOTPValidate)}
	manage := []echo.MiddlewareFunc{s.authenticate, requireScope(clients.ScopeTOTPManage)}
	v1.POST("/otp", s.createOTP, send...)
	v1.GET("/otp/:authId", s.getOTP, send...)
	v1.POST("/otp/:authId/resend", s.resendOTP, send...)
	v1.DELETE("/otp/:authId", s.cancelOTP, send...)
	v1.POST("/otp/validate", s.validateOTPBody, validate...)
	v1.POST("/otp/:authId/validate", s.validateOTP, validate...)
	v1.POST("/totp/enrollments", s.enroll, manage...)
	v1.GET("/totp/enrollments/:id", s.getEnrollment, manage...)
	v1.GET("/totp/enrollments/:id/qr.png", s.enrollmentQR, manage...)
	v1.POST("/totp/enrollments/:id/activate", s.activateEnrollment, manage...)
	v1.DELETE("/totp/enrollments/:id", s.deleteEnrollment, manage...)

	return e
}

// ipExtractor believes X-Forwarded-For only from the listed networks;
// with none, the socket address is the client address.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{
		echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false),
	}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// logPanic hands a recovered panic, with its stack, to the error handler,
// which logs it once and answers 500.
func (s *server) logPanic(_ echo.Context, err error, stack []byte) error {
	return fmt.Errorf("handler panicked: %w\n%s", err, stack)
}

func (s *server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		s.Logger.Warn("not ready", slog.String("error", err.Error()))
		return c.JSON(http.StatusServiceUnavailable, httpio.ErrorBody{
			Status: "FAILED", Code: CodeUnavailable, Message: "not ready"})
	}

	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
