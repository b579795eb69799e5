package httpapi

import (
	"encoding/base64"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/httpio"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/totp"
)

type enrollRequest struct {
	UserName string `json:"userName"`
	Issuer   string `json:"issuer"`
}

// enrollmentBody is an enrollment's public state; the secret appears only
// in the answer to its creation.
type enrollmentBody struct {
	EnrollmentID string     `json:"enrollmentId"`
	UserName     string     `json:"userName"`
	State        string     `json:"state"`
	Issuer       string     `json:"issuer"`
	Algorithm    string     `json:"algorithm"`
	Digits       int        `json:"digits"`
	Period       int        `json:"period"`
	CreatedAt    time.Time  `json:"createdAt"`
	ExpiresAt    *time.Time `json:"expiresAt,omitempty"`
	ActivatedAt  *time.Time `json:"activatedAt,omitempty"`
	Secret       string     `json:"secret,omitempty"`
	OTPAuthURI   string     `json:"otpauthUri,omitempty"`
	QRCodePNG    string     `json:"qrCodePng,omitempty"`
}

func enrollmentView(e *store.Enrollment) enrollmentBody {
	b := enrollmentBody{EnrollmentID: e.ID, UserName: e.UserName, State: e.State.String(),
		Issuer: e.Issuer, Algorithm: e.Algorithm, Digits: e.Digits, Period: e.Period, CreatedAt: e.CreatedAt}
	if !e.ExpiresAt.IsZero() {
		b.ExpiresAt = &e.ExpiresAt
	}
	if !e.ActivatedAt.IsZero() {
		b.ActivatedAt = &e.ActivatedAt
	}
	return b
}

func (s *server) enroll(c echo.Context) error {
	body, err := httpio.ReadBody(c, s.MaxBody)
	if err != nil {
		return err
	}
	var req enrollRequest
	if err := httpio.DecodeStrict(body, &req); err != nil {
		return err
	}
	if err := checkUserName(req.UserName); err != nil {
		return err
	}
	if !totp.ValidIssuer(req.Issuer) {
		return httpio.BadRequest("issuer must be at most 64 printable characters without ':'")
	}
	en, err := s.TOTP.Enroll(clientOf(c), req.UserName, req.Issuer)
	if err != nil {
		return err
	}
	out := enrollmentView(en.Enrollment)
	out.Secret, out.OTPAuthURI = en.Secret, en.URI
	out.QRCodePNG = base64.StdEncoding.EncodeToString(en.QR)
	c.Response().Header().Set(echo.HeaderLocation, "/v1/totp/enrollments/"+en.Enrollment.ID)

	return c.JSON(http.StatusCreated, out)
}

func (s *server) getEnrollment(c echo.Context) error {
	e, err := s.TOTP.Get(clientOf(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, enrollmentView(e))
}

func (s *server) enrollmentQR(c echo.Context) error {
	png, err := s.TOTP.QR(clientOf(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "image/png", png)
}

func (s *server) activateEnrollment(c echo.Context) error {
	body, err := httpio.ReadBody(c, s.MaxBody)
	if err != nil {
		return err
	}
	var req struct {
		OTP string `json:"otp"`
	}
	if err := httpio.DecodeStrict(body, &req); err != nil {
		return err
	}
	if !digits(req.OTP) || len(req.OTP) < minOTP || len(req.OTP) > maxOTP {
		return httpio.BadRequest("otp must be 6 to 10 digits")
	}
	if err := s.TOTP.Activate(clientOf(c).ID, c.Param("id"), req.OTP); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, successBody{Status: "SUCCESS", Message: "the authenticator app is enrolled"})
}

func (s *server) deleteEnrollment(c echo.Context) error {
	if err := s.TOTP.Delete(clientOf(c).ID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
