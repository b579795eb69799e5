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
	{otp.ErrAlreadyUsed, publicError{http.StatusConflict, CodeAlreadyUsed,
		"this challenge has already been validated"}},
	{otp.ErrLocked, publicError{http.StatusGone, CodeLocked, "too many wrong codes; request a new challenge"}},
	{otp.ErrExpired, publicError{http.StatusGone, CodeExpired, "the challenge has expired or was cancelled"}},
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
		"phoneNumber must be a valid number of digits, spaces and dashes, with its +country code " +
			"unless the client has a default region"}},
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
	{totp.ErrNotPending, publicError{http.StatusNotFound, CodeNotFound,
		"the QR code is served only while the enrollment is pending"}},
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
	var se *scopeError
	if errors.As(err, &se) {
		return publicError{http.StatusForbidden, CodeInsufficientScope,
			"the token lacks the scope " + se.scope + " that this operation needs"}
	}
	if pub, ok := limitedError(err); ok {
		return pub
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

// limitedError is the public form of a refusal by a rate limit, a failure
// budget or a resend rule, which names the rule so that an application can
// tell its users what to do.
func limitedError(err error) (publicError, bool) {
	const retry = "; retry after the time in Retry-After"
	var ex *limits.Exceeded
	var rl *otp.RateLimitError
	switch {
	case errors.As(err, &ex) && ex.Limit == limits.NameFailures:
		return publicError{http.StatusTooManyRequests, CodeRateLimited,
			"too many wrong codes for this user or destination" + retry}, true
	case errors.As(err, &ex):
		return publicError{http.StatusTooManyRequests, CodeRateLimited,
			"the " + ex.Limit + " rate limit is reached" + retry}, true
	case errors.As(err, &rl):
		return publicError{http.StatusTooManyRequests, CodeRateLimited, rl.Reason + retry}, true
	}
	return publicError{}, false
}

// scopeError refuses a token without the scope a route needs.
type scopeError struct{ scope string }

// Error names the scope.
func (e *scopeError) Error() string { return "token lacks scope " + e.scope }

// Is makes errors.Is(err, errInsufficientScope) true.
func (e *scopeError) Is(target error) bool { return target == errInsufficientScope }

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
		setAuthHeaders(c, pub, err)
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

// setAuthHeaders sets WWW-Authenticate as RFC 6750 §3 asks, naming the
// scope a route needs when the token lacks it.
func setAuthHeaders(c echo.Context, pub publicError, err error) {
	h := c.Response().Header()
	switch pub.code {
	case CodeUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="ciam-mfa", error="invalid_token"`)
	case CodeInsufficientScope:
		v := `Bearer realm="ciam-mfa", error="insufficient_scope"`
		var se *scopeError
		if errors.As(err, &se) {
			v += `, scope="` + se.scope + `"`
		}
		h.Set("WWW-Authenticate", v)
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
