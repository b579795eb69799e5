package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/destination"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/httpio"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/limits"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/oauth"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/otp"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/totp"
)

// Public error codes, as the OpenAPI document lists them.
const (
	CodeInvalidRequest        = "INVALID_REQUEST"
	CodeInvalidEmail          = "INVALID_EMAIL"
	CodeInvalidPhone          = "INVALID_PHONE"
	CodeUnsupportedDeviceType = "UNSUPPORTED_DEVICE_TYPE"
	CodeUnknownTemplate       = "UNKNOWN_TEMPLATE"
	CodeInvalidExpiry         = "INVALID_EXPIRY"
	CodeOTPInvalid            = "OTP_INVALID"
	CodeUnauthorized          = "UNAUTHORIZED"
	CodeInsufficientScope     = "INSUFFICIENT_SCOPE"
	CodeNotFound              = "NOT_FOUND"
	CodeMethodNotAllowed      = "METHOD_NOT_ALLOWED"
	CodeAlreadyUsed           = "OTP_ALREADY_USED"
	CodeEnrollmentExists      = "ENROLLMENT_EXISTS"
	CodeExpired               = "OTP_EXPIRED"
	CodeLocked                = "OTP_LOCKED"
	CodePayloadTooLarge       = "PAYLOAD_TOO_LARGE"
	CodeUnsupportedMediaType  = "UNSUPPORTED_MEDIA_TYPE"
	CodeIdempotencyReused     = "IDEMPOTENCY_KEY_REUSED"
	CodeRateLimited           = "RATE_LIMITED"
	CodeUnavailable           = "UNAVAILABLE"
	CodeInternal              = "INTERNAL"
)

// Errors the handlers raise themselves.
var (
	errUnauthorized      = errors.New("missing or invalid bearer token")
	errInsufficientScope = errors.New("token lacks the scope this route needs")
)

// publicError is what a client sees.
type publicError struct {
	status  int
	code    string
	message string
}

// errorTable maps every error a handler can return to its response. The
// first entry that matches with errors.Is wins.
var errorTable = []struct {
	err error
	pub publicError
}{
	{otp.ErrNotFound, publicError{http.StatusNotFound, CodeNotFound, "no such challenge"}},
	{otp.ErrAlreadyUsed, publicError{http.StatusConflict, CodeAlreadyUsed, "the code has already been used"}},
	{otp.ErrLocked, publicError{http.StatusGone, CodeLocked, "too many wrong codes; request a new challenge"}},
	{otp.ErrExpired, publicError{http.StatusGone, CodeExpired, "the code has expired"}},
	{otp.ErrInvalidCode, publicError{http.StatusBadRequest, CodeOTPInvalid, "the code is not valid"}},
	{otp.ErrDeviceType, publicError{http.StatusBadRequest, CodeUnsupportedDeviceType,
		"deviceType is unknown or not allowed for this client"}},
	{otp.ErrTemplate, publicError{http.StatusBadRequest, CodeUnknownTemplate,
		"templateName is unknown or not allowed for this client"}},
	{otp.ErrExpiry, publicError{http.StatusBadRequest, CodeInvalidExpiry,
		"expiresInSeconds is outside this client's policy"}},
	{destination.ErrInvalidEmail, publicError{http.StatusBadRequest, CodeInvalidEmail,
		"email must be a bare, valid address"}},
	{destination.ErrPhoneType, publicError{http.StatusBadRequest, CodeInvalidPhone,
		"phoneNumber cannot receive SMS"}},
	{destination.ErrCountry, publicError{http.StatusBadRequest, CodeInvalidPhone,
		"phoneNumber is in a country this client may not send to"}},
	{destination.ErrInvalidPhone, publicError{http.StatusBadRequest, CodeInvalidPhone,
		"phoneNumber must be a valid number in international format"}},
	{errUnauthorized, publicError{http.StatusUnauthorized, CodeUnauthorized, "missing or invalid bearer token"}},
	{oauth.ErrInvalidToken, publicError{http.StatusUnauthorized, CodeUnauthorized, "missing or invalid bearer token"}},
	{oauth.ErrClientDisabled, publicError{http.StatusUnauthorized, CodeUnauthorized,
		"missing or invalid bearer token"}},
	{errBadSignature, publicError{http.StatusUnauthorized, CodeUnauthorized, "signature missing or invalid"}},
	{errInsufficientScope, publicError{http.StatusForbidden, CodeInsufficientScope,
		"the token lacks the scope this operation needs"}},
	{httpio.ErrTooLarge, publicError{http.StatusRequestEntityTooLarge, CodePayloadTooLarge,
		"request body is too large"}},
	{httpio.ErrMediaType, publicError{http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
		"Content-Type must be application/json"}},
	{limits.ErrLimited, publicError{http.StatusTooManyRequests, CodeRateLimited,
		"too many requests or failed codes; retry after the time in Retry-After"}},
	{otp.ErrRateLimited, publicError{http.StatusTooManyRequests, CodeRateLimited,
		"too many requests; retry after the time in Retry-After"}},
	{otp.ErrIdempotencyReused, publicError{http.StatusUnprocessableEntity, CodeIdempotencyReused,
		"this Idempotency-Key was used with a different request"}},
	{otp.ErrNotResendable, publicError{http.StatusBadRequest, CodeInvalidRequest,
		"a TOTP challenge has no code to resend"}},
	{totp.ErrNotFound, publicError{http.StatusNotFound, CodeNotFound, "no such enrollment"}},
	{totp.ErrExists, publicError{http.StatusConflict, CodeEnrollmentExists,
		"the user already has an active enrollment; delete it first"}},
	{totp.ErrLocked, publicError{http.StatusGone, CodeLocked, "too many wrong codes; enroll again"}},
	{totp.ErrInvalidCode, publicError{http.StatusBadRequest, CodeOTPInvalid, "the code is not valid"}},
	{totp.ErrParams, publicError{http.StatusBadRequest, CodeInvalidRequest,
		"this client's TOTP parameters are not supported"}},
	{totp.ErrUnavailable, publicError{http.StatusServiceUnavailable, CodeUnavailable,
		"the service cannot take the request now; retry later"}},
	{otp.ErrUnavailable, publicError{http.StatusServiceUnavailable, CodeUnavailable,
		"the service cannot take the request now; nothing was stored, retry later"}},
}

// classify returns the public form of err.
func classify(err error) publicError {
	var re *httpio.RequestError
	if errors.As(err, &re) {
		return publicError{http.StatusBadRequest, CodeInvalidRequest, re.Msg}
	}
	var ie *otp.InputError
	if errors.As(err, &ie) && !isDestination(ie.Err) {
		switch ie.Field {
		case "email":
			return publicError{http.StatusBadRequest, CodeInvalidEmail, ie.Error()}
		case "phoneNumber":
			return publicError{http.StatusBadRequest, CodeInvalidPhone, ie.Error()}
		}
		return publicError{http.StatusBadRequest, CodeInvalidRequest, ie.Error()}
	}
	for _, row := range errorTable {
		if errors.Is(err, row.err) {
			return row.pub
		}
	}

	var he *echo.HTTPError
	if errors.As(err, &he) {
		return fromEcho(he)
	}
	return publicError{http.StatusInternalServerError, CodeInternal, "internal error"}
}

func isDestination(err error) bool {
	return errors.Is(err, destination.ErrInvalidEmail) || errors.Is(err, destination.ErrInvalidPhone) ||
		errors.Is(err, destination.ErrPhoneType) || errors.Is(err, destination.ErrCountry)
}

func fromEcho(he *echo.HTTPError) publicError {
	switch he.Code {
	case http.StatusNotFound:
		return publicError{he.Code, CodeNotFound, "no such route"}
	case http.StatusMethodNotAllowed:
		return publicError{he.Code, CodeMethodNotAllowed, "method not allowed on this route"}
	case http.StatusRequestEntityTooLarge:
		return publicError{he.Code, CodePayloadTooLarge, "request body is too large"}
	case http.StatusUnauthorized:
		return publicError{he.Code, CodeUnauthorized, "missing or invalid bearer token"}
	}
	if he.Code >= 400 && he.Code < 500 {
		return publicError{he.Code, CodeInvalidRequest, http.StatusText(he.Code)}
	}
	return publicError{http.StatusInternalServerError, CodeInternal, "internal error"}
}

// errorHandler writes err's public form and logs its cause.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		pub := classify(err)
		body := httpio.ErrorBody{Status: "FAILED", Code: pub.code, Message: pub.message}
		var left interface{ RemainingAttempts() int }
		switch {
		case errors.As(err, &left):
			n := left.RemainingAttempts()
			body.RemainingAttempts = &n
		case errors.Is(err, otp.ErrLocked), errors.Is(err, totp.ErrLocked):
			zero := 0
			body.RemainingAttempts = &zero
		}
		setAuthHeaders(c, pub)
		var ra interface{ RetryAfter() int }
		if errors.As(err, &ra) {
			c.Response().Header().Set("Retry-After", strconv.Itoa(ra.RetryAfter()))
		}
		logRequestError(log, c, pub, err)
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(pub.status)
			return
		}

		_ = c.JSON(pub.status, body)
	}
}

func setAuthHeaders(c echo.Context, pub publicError) {
	h := c.Response().Header()
	switch pub.code {
	case CodeUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="ciam-mfa", error="invalid_token"`)
	case CodeInsufficientScope:
		h.Set("WWW-Authenticate", `Bearer realm="ciam-mfa", error="insufficient_scope"`)
	}
}

func logRequestError(log *slog.Logger, c echo.Context, pub publicError, err error) {
	attrs := []any{
		slog.String(logging.KeyRequestID, httpio.RequestID(c)),
		slog.String(logging.KeyMethod, c.Request().Method),
		slog.String(logging.KeyPath, c.Path()),
		slog.Int(logging.KeyStatus, pub.status),
		slog.String(logging.KeyCode, pub.code),
		logging.Err(err),
	}

	switch {
	case pub.status >= 500:
		log.Error("request failed", attrs...)
	default:
		log.Debug("request refused", attrs...)
	}
}
