package totp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

// Errors returned by the Service.
var (
	// ErrNotFound is returned for an unknown enrollment, another client's,
	// or a pending one past its time.
	ErrNotFound = errors.New("enrollment not found")
	// ErrExists is returned when the user already has an active
	// enrollment.
	ErrExists = errors.New("an active enrollment exists")
	// ErrLocked is returned once an activation has had too many wrong
	// codes.
	ErrLocked = errors.New("enrollment locked")
	// ErrInvalidCode is wrapped by *InvalidCodeError.
	ErrInvalidCode = errors.New("invalid code")
	// ErrUnavailable is returned when the store fails.
	ErrUnavailable = errors.New("enrollment store unavailable")
	// ErrNotPending is returned for the QR code of an enrollment that is
	// no longer pending; it wraps ErrNotFound.
	ErrNotPending = fmt.Errorf("%w: the QR code is served only while pending", ErrNotFound)
)

// InvalidCodeError is a wrong activation code, with the attempts left.
type InvalidCodeError struct{ Remaining int }

// Error says how many attempts are left.
func (e *InvalidCodeError) Error() string {
	return "invalid code, " + strconv.Itoa(e.Remaining) + " attempts left"
}

// Is makes errors.Is(err, ErrInvalidCode) true.
func (e *InvalidCodeError) Is(target error) bool { return target == ErrInvalidCode }

// RemainingAttempts returns the attempts left.
func (e *InvalidCodeError) RemainingAttempts() int { return e.Remaining }

// Settings tune the Service.
type Settings struct {
	// PendingTTL is how long an enrollment may wait for activation;
	// default 15 minutes.
	PendingTTL time.Duration
	// MaxAttempts is the number of wrong activation codes allowed;
	// default 5.
	MaxAttempts int
	// QRSize is the QR code's size in pixels; default 256.
	QRSize int
}

// Service manages enrollments. It is safe for concurrent use.
type Service struct {
	store *store.Store
	data  *keyring.AEAD
	set   Settings
	now   func() time.Time

	// dummy is opened and checked for users without an enrollment, so that
	// they take as long as enrolled ones.
	dummy *store.Enrollment
}

// NewService returns a Service sealing secrets under data.
func NewService(st *store.Store, data *keyring.AEAD, set Settings, now func() time.Time) *Service {
	if set.PendingTTL <= 0 {
		set.PendingTTL = 15 * time.Minute
	}
	if set.MaxAttempts <= 0 {
		set.MaxAttempts = 5
	}
	if set.QRSize <= 0 {
		set.QRSize = 256
	}
	if now == nil {
		now = time.Now
	}
	s := &Service{store: st, data: data, set: set, now: now}
	s.dummy = &store.Enrollment{ID: store.NewChallengeID(), Algorithm: "SHA1", Digits: 6, Period: 30}
	s.dummy.SealedSecret = data.Seal(NewSecret(Defaults), []byte(s.dummy.ID))

	return s
}

// Enrolled is a new enrollment with what the user needs to add it to an
// app. Secret, URI and QR are shown only this once.
type Enrolled struct {
	Enrollment *store.Enrollment
	Secret     string
	URI        string
	QR         []byte
}

// ParamsOf returns the code parameters of e.
func ParamsOf(e *store.Enrollment) Params {
	return Params{Algorithm: e.Algorithm, Digits: e.Digits, Period: e.Period}
}

// maxIssuer is the longest issuer, in characters, an enrollment carries.
const maxIssuer = 64

// ValidIssuer reports whether s can be an issuer: valid UTF-8 of at most
// maxIssuer printable characters (no controls, bidi or other format
// characters, which could make an app show a label other than the one
// sent), without ':', which would end the issuer in the otpauth label.
func ValidIssuer(s string) bool {
	return utf8.ValidString(s) && utf8.RuneCountInString(s) <= maxIssuer &&
		!strings.ContainsFunc(s, func(r rune) bool { return r == ':' || !unicode.IsPrint(r) })
}

// issuerOf makes a client's name an issuer that ValidIssuer accepts: a
// ':' would end the issuer in the otpauth label, so it becomes a space,
// characters that are not printable (such as zero-width ones) are dropped,
// and the name is cut to maxIssuer characters and trimmed of spaces.
func issuerOf(name string) string {
	name = strings.ReplaceAll(name, ":", " ")
	name = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, name)
	if r := []rune(name); len(r) > maxIssuer {
		name = string(r[:maxIssuer])
	}
	return strings.TrimSpace(name)
}

// Enroll starts a pending enrollment for userName with the client's
// parameters. It fails with ErrExists or ErrParams.
func (s *Service) Enroll(c *store.Client, userName, issuer string) (*Enrolled, error) {
	p := Params{Algorithm: c.TOTP.Algorithm, Digits: c.TOTP.Digits, Period: c.TOTP.Period}.WithDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if issuer == "" {
		issuer = c.TOTP.Issuer
	}
	if issuer == "" {
		issuer = issuerOf(c.Name)
	}
	now := s.now().UTC()
	secret := NewSecret(p)
	e := &store.Enrollment{
		ID: store.NewChallengeID(), ClientID: c.ID, UserName: userName, State: store.EnrollmentPending,
		Issuer: issuer, Algorithm: p.Algorithm, Digits: p.Digits, Period: p.Period,
		CreatedAt: now, ExpiresAt: now.Add(s.set.PendingTTL),
	}

	e.SealedSecret = s.data.Seal(secret, []byte(e.ID))
	uri, err := URI(issuer, userName, secret, p)
	if err != nil {
		return nil, err
	}
	qr, err := QRPNG(uri, s.set.QRSize)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateEnrollment(e); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, ErrExists
		}
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}

	return &Enrolled{Enrollment: e, Secret: EncodeSecret(secret), URI: uri, QR: qr}, nil
}

// Get returns the client's enrollment id. It fails with ErrNotFound.
func (s *Service) Get(clientID, id string) (*store.Enrollment, error) {
	e, err := s.store.GetEnrollment(id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	case e.ClientID != clientID || s.expired(e):
		return nil, ErrNotFound
	}
	return e, nil
}

func (s *Service) expired(e *store.Enrollment) bool {
	return e.State == store.EnrollmentPending && !s.now().Before(e.ExpiresAt)
}

// QR returns the QR code of a pending enrollment. It fails with
// ErrNotFound, or ErrNotPending (which wraps it) once the enrollment is
// active.
func (s *Service) QR(clientID, id string) ([]byte, error) {
	e, err := s.Get(clientID, id)
	if err != nil {
		return nil, err
	}
	if e.State != store.EnrollmentPending {
		return nil, ErrNotPending
	}
	secret, err := s.data.Open(e.SealedSecret, []byte(e.ID))
	if err != nil {
		return nil, fmt.Errorf("%w: unsealing secret: %w", ErrUnavailable, err)
	}
	uri, err := URI(e.Issuer, e.UserName, secret, ParamsOf(e))
	if err != nil {
		return nil, err
	}
	return QRPNG(uri, s.set.QRSize)
}

// Activate confirms a pending enrollment with a code from the app. It
// fails with ErrNotFound, ErrLocked, ErrExists or an *InvalidCodeError.
func (s *Service) Activate(clientID, id, code string) error {
	var outcome error
	err := s.store.ActivateEnrollment(id, func(e *store.Enrollment) (bool, error) {
		var write bool
		write, outcome = s.checkActivation(clientID, e, code)
		return write, nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, store.ErrExists):
		return ErrExists
	case err != nil:
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return outcome
}

func (s *Service) checkActivation(clientID string, e *store.Enrollment, code string) (bool, error) {
	switch {
	case e.ClientID != clientID || s.expired(e):
		return false, ErrNotFound
	case e.State == store.EnrollmentActive:
		return false, ErrExists
	case e.Attempts >= s.set.MaxAttempts:
		return false, ErrLocked
	}
	now := s.now().UTC()
	step, ok := s.Verify(e, code, now)
	if !ok {
		e.Attempts++
		return true, &InvalidCodeError{Remaining: s.set.MaxAttempts - e.Attempts}
	}

	e.State, e.LastStep, e.ActivatedAt, e.ExpiresAt = store.EnrollmentActive, step, now, time.Time{}
	return true, nil
}

// Verify checks code against e at now, returning the step to record as
// e.LastStep. A nil e is checked against a throwaway secret and never
// matches.
func (s *Service) Verify(e *store.Enrollment, code string, now time.Time) (int64, bool) {
	target, real := e, true
	if e == nil {
		target, real = s.dummy, false
	}
	secret, err := s.data.Open(target.SealedSecret, []byte(target.ID))
	if err != nil {
		return 0, false
	}
	step, ok := Match(secret, code, now, ParamsOf(target), target.LastStep)

	return step, ok && real
}

// Delete removes the client's enrollment id at once. It fails with
// ErrNotFound.
func (s *Service) Delete(clientID, id string) error {
	if _, err := s.Get(clientID, id); err != nil {
		return err
	}
	if err := s.store.DeleteEnrollment(id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}

	return nil
}
