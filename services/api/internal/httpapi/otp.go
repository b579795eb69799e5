package httpapi

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"golang.org/x/text/language"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/httpio"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/otp"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

// Field limits, as the OpenAPI document states them.
const (
	maxUserName = 128
	maxTemplate = 64
	maxLocale   = 35
	maxOTP      = 10
	minOTP      = 6
)

// errRequired is a destination the device type needs but the request
// lacks.
var errRequired = errors.New("required for this deviceType")

// otpRequest is the body of POST /v1/otp.
type otpRequest struct {
	UserName         string `json:"userName"`
	DeviceType       string `json:"deviceType"`
	Email            string `json:"email"`
	PhoneNumber      string `json:"phoneNumber"`
	TemplateName     string `json:"templateName"`
	Locale           string `json:"locale"`
	ExpiresInSeconds *int   `json:"expiresInSeconds"`
	IPAddress        string `json:"ipAddress"`
}

type createdBody struct {
	AuthID  string `json:"authId"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

// send answers with b as c.JSON would. It writes the JSON itself, without
// reflection, when no field needs escaping (always so for the ids and texts
// it carries) and the answer is not to be indented (?pretty, Echo's debug
// mode).
func (b createdBody) send(c echo.Context, status int) error {
	if c.Echo().Debug || c.Request().URL.RawQuery != "" && c.QueryParams().Has("pretty") {
		return c.JSON(status, b)
	}
	out := make([]byte, 0, 48+len(b.AuthID)+len(b.Status)+len(b.Message))
	out, ok := appendPlainField(append(out, '{'), "authId", b.AuthID)
	if ok {
		out, ok = appendPlainField(append(out, ','), "status", b.Status)
	}
	if ok {
		out, ok = appendPlainField(append(out, ','), "message", b.Message)
	}
	if !ok {
		return c.JSON(status, b)
	}
	return c.JSONBlob(status, append(out, "}\n"...))
}

// appendPlainField appends "name":"value", or reports false when value has
// a byte that JSON, as encoding/json writes it, would escape.
func appendPlainField(b []byte, name, value string) ([]byte, bool) {
	for i := 0; i < len(value); i++ {
		if ch := value[i]; ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\' ||
			ch == '<' || ch == '>' || ch == '&' {
			return b, false
		}
	}
	b = append(append(append(b, '"'), name...), `":"`...)
	return append(append(b, value...), '"'), true
}

type successBody struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func (s *server) createOTP(c echo.Context) error {
	body, err := httpio.ReadBody(c, s.MaxBody)
	if err != nil {
		return err
	}
	var req otpRequest
	if err := httpio.DecodeStrict(body, &req); err != nil {
		return err
	}
	r, err := req.toRequest()
	if err != nil {
		return err
	}
	if r.IdempotencyKey, r.BodyHash, err = idempotency(c, &req); err != nil {
		return err
	}
	ch, err := s.OTP.Create(c.Request().Context(), clientOf(c), r)
	if err != nil {
		return err
	}
	msg := "OTP has been sent to the device"
	if ch.DeviceType == store.DeviceTOTP {
		msg = "enter the code from your authenticator app"
	}
	return createdBody{AuthID: ch.ID, Status: "SUCCESS", Message: msg}.send(c, http.StatusCreated)
}

// idempotency reads the Idempotency-Key header and hashes the decoded
// request, so that a repeat differing only in spacing or field order still
// counts as the same request.
func idempotency(c echo.Context, req *otpRequest) (string, []byte, error) {
	key := c.Request().Header.Get("Idempotency-Key")
	if key == "" {
		return "", nil, nil
	}
	if len(key) > 128 || !printable(key) {
		return "", nil, httpio.BadRequest("Idempotency-Key must be 1 to 128 printable ASCII characters")
	}
	canonical, err := json.Marshal(req)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(canonical)

	return key, sum[:], nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}

	return true
}

// toRequest checks the fields the service does not: presence, lengths and
// character sets.
func (r *otpRequest) toRequest() (otp.Request, error) {
	if err := checkUserName(r.UserName); err != nil {
		return otp.Request{}, err
	}
	dt, ok := store.ParseDeviceType(r.DeviceType)
	if !ok {
		if r.DeviceType == "" {
			return otp.Request{}, httpio.BadRequest("deviceType is required")
		}
		return otp.Request{}, otp.ErrDeviceType
	}

	if len(r.TemplateName) > maxTemplate || !isSlug(r.TemplateName) {
		return otp.Request{}, otp.ErrTemplate
	}
	if len(r.Locale) > maxLocale || !isLocale(r.Locale) {
		return otp.Request{}, httpio.BadRequest("locale must be a BCP 47 language tag")
	}
	if r.IPAddress != "" {
		if a, err := netip.ParseAddr(r.IPAddress); err != nil || len(r.IPAddress) > 64 || a.Zone() != "" {
			return otp.Request{}, httpio.BadRequest("ipAddress must be an IPv4 or IPv6 address, without a zone")
		}
	}

	out := otp.Request{UserName: r.UserName, DeviceType: dt, Email: r.Email,
		PhoneNumber: r.PhoneNumber, Template: r.TemplateName, Locale: r.Locale}
	if r.IPAddress != "" {
		out.IPAddress = ipKey(r.IPAddress)
	}

	if r.ExpiresInSeconds != nil {
		if *r.ExpiresInSeconds <= 0 || *r.ExpiresInSeconds > 86400 {
			return otp.Request{}, otp.ErrExpiry
		}
		out.ExpiresIn = time.Duration(*r.ExpiresInSeconds) * time.Second
	}

	switch {
	case dt == store.DeviceEmail && r.Email == "":
		return otp.Request{}, &otp.InputError{Field: "email", Err: errRequired}
	case dt == store.DeviceSMS && r.PhoneNumber == "":
		return otp.Request{}, &otp.InputError{Field: "phoneNumber", Err: errRequired}
	case dt == store.DeviceEmail && r.PhoneNumber != "":
		return otp.Request{}, httpio.BadRequest("phoneNumber is not used with deviceType EMAIL")
	case dt == store.DeviceSMS && r.Email != "":
		return otp.Request{}, httpio.BadRequest("email is not used with deviceType SMS")
	case dt == store.DeviceTOTP && (r.Email != "" || r.PhoneNumber != "" || r.TemplateName != ""):
		return otp.Request{}, httpio.BadRequest("deviceType TOTP takes no destination or template")
	}
	return out, nil
}

// ipKey is the per-IP limit's key for an address: IPv4 as it is, IPv6 by
// its /64, since one subscriber gets a whole /64 to pick addresses from,
// and without a zone.
func ipKey(s string) string {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return s
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	return netip.PrefixFrom(addr, 64).Masked().String()
}

// checkUserName allows 1 to 128 characters: letters, digits, marks and
// ". _ @ + -".
func checkUserName(u string) error {
	if u == "" {
		return httpio.BadRequest("userName is required")
	}
	if len(u) > maxUserName || !utf8.ValidString(u) {
		return httpio.BadRequest("userName must be at most 128 bytes of UTF-8")
	}
	for _, r := range u {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) &&
			r != '.' && r != '_' && r != '@' && r != '+' && r != '-' {
			return httpio.BadRequest("userName may hold only letters, digits and . _ @ + -")
		}
	}

	return nil
}

func isSlug(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}

	return true
}

func isLocale(s string) bool {
	if s == "" {
		return true
	}
	if len(s) < 2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}

	if s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	// The characters are right; the subtags must also be in BCP 47's order
	// and shapes. A well-formed tag with a subtag the registry lacks is
	// taken: its template falls back to the default locale.
	_, err := language.Parse(s)
	var unknown language.ValueError
	return err == nil || errors.As(err, &unknown)
}

type validateRequest struct {
	AuthID string `json:"authId"`
	OTP    string `json:"otp"`
}

func (s *server) validateOTP(c echo.Context) error {
	return s.validate(c, c.Param("authId"), false)
}

func (s *server) validateOTPBody(c echo.Context) error {
	return s.validate(c, "", true)
}

func (s *server) validate(c echo.Context, authID string, idInBody bool) error {
	body, err := httpio.ReadBody(c, s.MaxBody)
	if err != nil {
		return err
	}
	var req validateRequest
	if err := httpio.DecodeStrict(body, &req); err != nil {
		return err
	}
	switch {
	case idInBody && req.AuthID == "":
		return httpio.BadRequest("authId is required")
	case idInBody:
		authID = req.AuthID
	case req.AuthID != "" && req.AuthID != authID:
		return httpio.BadRequest("authId in the body differs from the path")
	}
	if len(authID) > 64 {
		return otp.ErrNotFound
	}
	if !digits(req.OTP) || len(req.OTP) < minOTP || len(req.OTP) > maxOTP {
		return httpio.BadRequest("otp must be 6 to 10 digits")
	}
	if err := s.OTP.Validate(c.Request().Context(), clientOf(c), authID, req.OTP); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, successBody{Status: "SUCCESS", Message: "OTP has been validated successfully"})
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}

	return s != ""
}

// challengeBody is GET /v1/otp/{authId}: state, never the code.
type challengeBody struct {
	AuthID            string           `json:"authId"`
	UserName          string           `json:"userName"`
	DeviceType        string           `json:"deviceType"`
	State             string           `json:"state"`
	Destination       string           `json:"destination,omitempty"`
	TemplateName      string           `json:"templateName,omitempty"`
	Locale            string           `json:"locale,omitempty"`
	RemainingAttempts int              `json:"remainingAttempts"`
	Resends           int              `json:"resends"`
	CreatedAt         time.Time        `json:"createdAt"`
	ExpiresAt         time.Time        `json:"expiresAt"`
	ValidatedAt       *time.Time       `json:"validatedAt,omitempty"`
	Delivery          *deliveryBody    `json:"delivery,omitempty"`
	History           []deliveryRecord `json:"deliveryHistory"`
}

type deliveryBody struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
}

type deliveryRecord struct {
	Generation int       `json:"generation"`
	Replay     int       `json:"replay,omitempty"`
	State      string    `json:"state"`
	Attempt    int       `json:"attempt,omitempty"`
	ProviderID string    `json:"providerId,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Error      string    `json:"error,omitempty"`
	At         time.Time `json:"at"`
}

func (s *server) resendOTP(c echo.Context) error {
	if c.Request().ContentLength != 0 { // -1 is a chunked body
		body, err := httpio.ReadBody(c, s.MaxBody)
		if err != nil {
			return err
		}
		var empty struct{}
		if err := httpio.DecodeStrict(body, &empty); err != nil {
			return err
		}
	}

	ch, err := s.OTP.Resend(c.Request().Context(), clientOf(c), c.Param("authId"))
	if err != nil {
		return err
	}
	return createdBody{AuthID: ch.ID, Status: "SUCCESS",
		Message: "a new OTP has been sent to the device; the previous one no longer works",
	}.send(c, http.StatusOK)
}

func (s *server) cancelOTP(c echo.Context) error {
	if err := s.OTP.Cancel(clientOf(c), c.Param("authId")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) getOTP(c echo.Context) error {
	ch, err := s.OTP.Get(clientOf(c).ID, c.Param("authId"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, challengeView(ch, time.Now()))
}

// challengeView renders a challenge's public state: PENDING, VALIDATED,
// LOCKED, EXPIRED or CANCELLED.
func challengeView(ch *store.Challenge, now time.Time) challengeBody {
	state := ch.State.String()
	switch {
	case ch.State == store.ChallengePending && ch.Locked():
		state = "LOCKED"
	case ch.State == store.ChallengePending && ch.Expired(now):
		state = "EXPIRED"
	}
	b := challengeBody{
		AuthID: ch.ID, UserName: ch.UserName, DeviceType: ch.DeviceType.String(), State: state,
		Destination: ch.MaskedDestination, TemplateName: ch.Template, Locale: ch.Locale,
		RemainingAttempts: max(ch.MaxAttempts-ch.Attempts, 0), Resends: ch.Resends,
		CreatedAt: ch.CreatedAt, ExpiresAt: ch.ExpiresAt, History: []deliveryRecord{},
	}

	if !ch.ValidatedAt.IsZero() {
		b.ValidatedAt = &ch.ValidatedAt
	}
	for _, d := range ch.Deliveries {
		b.History = append(b.History, deliveryRecord{Generation: d.Generation, Replay: d.Replay,
			State: d.State.String(), Attempt: d.Attempt, ProviderID: d.ProviderID,
			Reason: d.Reason, Error: d.Error, At: d.At})
	}

	if ch.DeviceType != store.DeviceTOTP {
		b.Delivery = &deliveryBody{State: "queued", At: ch.SentAt}
		if n := len(ch.Deliveries); n > 0 {
			last := ch.Deliveries[n-1]
			b.Delivery = &deliveryBody{State: last.State.String(), At: last.At}
		}
	}

	return b
}
