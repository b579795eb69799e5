// Package clients holds the applications allowed to call the API: their
// credentials, scopes, device types, templates and policy.
//
// The Registry keeps every client in memory, backed by the store, so that
// authenticating a token request or checking that a token's client is still
// enabled costs a map lookup. mfa-api is the only writer of its store, so
// the memory view is never stale: disabling a client takes effect on the
// next request.
package clients

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/keyedhash"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/otp"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

// Scopes a client may be granted.
const (
	ScopeOTPSend     = "otp:send"
	ScopeOTPValidate = "otp:validate"
	ScopeTOTPManage  = "totp:manage"
)

// AllScopes lists every scope, in the order tokens carry them.
var AllScopes = []string{ScopeOTPSend, ScopeOTPValidate, ScopeTOTPManage}

// Errors returned by the Registry.
var (
	// ErrInvalidCredentials is returned for an unknown client, a wrong or
	// expired secret, or a disabled client; callers cannot tell which.
	ErrInvalidCredentials = errors.New("invalid client credentials")
	// ErrNotFound is returned for an unknown client id.
	ErrNotFound = errors.New("client not found")
	// ErrInvalidSpec is returned for a client definition that cannot be
	// stored; the message says which field.
	ErrInvalidSpec = errors.New("invalid client")
	// ErrUnavailable is returned when the store could not write a client.
	ErrUnavailable = errors.New("client store unavailable")
)

// Spec defines a client's settings.
type Spec struct {
	Name            string
	Scopes          []string
	DeviceTypes     []store.DeviceType
	Templates       []string
	DefaultTemplate string
	Policy          store.OTPPolicy
	TOTP            store.TOTPPolicy
	Limits          map[string]store.LimitRule
	Destinations    store.DestinationPolicy
	EmailSender     store.EmailSender
	SMSSender       string
	Brand           events.Brand
	SMSMaxSegments  int
}

// Registry is the set of clients. It is safe for concurrent use; the
// clients it returns are snapshots that must not be modified.
type Registry struct {
	store  *store.Store
	hasher *keyedhash.Hasher
	now    func() time.Time

	mu   sync.RWMutex
	byID map[string]*store.Client
}

// Load reads every client from st.
func Load(st *store.Store, h *keyedhash.Hasher) (*Registry, error) {
	list, err := st.ListClients()
	if err != nil {
		return nil, fmt.Errorf("loading clients: %w", err)
	}
	r := &Registry{store: st, hasher: h, now: time.Now, byID: make(map[string]*store.Client, len(list))}
	for _, c := range list {
		r.byID[c.ID] = c
	}
	return r, nil
}

// Get returns the client with id, or false.
func (r *Registry) Get(id string) (*store.Client, bool) {
	r.mu.RLock()
	c, ok := r.byID[id]
	r.mu.RUnlock()
	return c, ok
}

// Enabled reports whether the client exists and is not disabled.
func (r *Registry) Enabled(id string) bool {
	c, ok := r.Get(id)
	return ok && !c.Disabled
}

// List returns every client, ordered by id.
func (r *Registry) List() []*store.Client {
	r.mu.RLock()
	out := make([]*store.Client, 0, len(r.byID))
	for _, c := range r.byID {
		out = append(out, c)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b *store.Client) int { return strings.Compare(a.ID, b.ID) })

	return out
}

// dummySum is hashed for unknown clients so that they take as long as
// known ones.
var dummySum = make([]byte, 32)

// Authenticate checks a client id and secret. It fails with
// ErrInvalidCredentials, whatever the reason.
func (r *Registry) Authenticate(id, secret string) (*store.Client, error) {
	c, ok := r.Get(id)
	if !ok {
		r.hasher.Verify("", dummySum, "client-secret", id, secret)
		return nil, ErrInvalidCredentials
	}

	now := r.now()
	match := false
	for _, s := range c.Secrets {
		live := s.ExpiresAt.IsZero() || now.Before(s.ExpiresAt)
		if r.hasher.Verify(s.KeyID, s.Hash, "client-secret", c.ID, secret) && live {
			match = true
		}
	}

	if !match || c.Disabled {
		return nil, ErrInvalidCredentials
	}
	return c, nil
}

// Create validates spec and stores a new client with a new secret, which
// is returned once and never again. It fails with ErrInvalidSpec or
// ErrUnavailable.
func (r *Registry) Create(spec Spec) (*store.Client, string, error) {
	if err := validate(&spec); err != nil {
		return nil, "", err
	}
	now := r.now().UTC()
	secret := NewSecret()
	c := &store.Client{
		ID: NewID(), Name: spec.Name, Scopes: spec.Scopes, DeviceTypes: spec.DeviceTypes,
		Templates: spec.Templates, DefaultTemplate: spec.DefaultTemplate, Policy: spec.Policy,
		TOTP: spec.TOTP, Limits: spec.Limits, Destinations: spec.Destinations,
		EmailSender: spec.EmailSender, SMSSender: spec.SMSSender, Brand: spec.Brand,
		SMSMaxSegments: spec.SMSMaxSegments,
		CreatedAt:      now, UpdatedAt: now,
	}

	c.Secrets = []store.Secret{r.secretHash(c.ID, secret, now)}
	if err := r.store.CreateClient(c); err != nil {
		return nil, "", fmt.Errorf("%w: storing client: %w", ErrUnavailable, err)
	}
	r.put(c)

	return c, secret, nil
}

// Update applies fn to a copy of the client, checks the result as Create
// does and stores it, with the name trimmed and, when fn changed the
// templates, the default template normalised as Create does. The settings
// that Create checks are checked only when fn changed one of them, so that
// a client stored under older rules can still be disabled, enabled or
// given a new secret. It fails with ErrNotFound, ErrInvalidSpec,
// ErrUnavailable, or fn's error.
func (r *Registry) Update(id string, fn func(c *store.Client) error) (*store.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.byID[id]
	if !ok {
		return nil, ErrNotFound
	}
	c := clone(old)
	if err := fn(c); err != nil {
		return nil, err
	}
	if checkedChanged(old, c) {
		spec := Spec{Name: c.Name, Scopes: c.Scopes, DeviceTypes: c.DeviceTypes,
			Templates: c.Templates, DefaultTemplate: c.DefaultTemplate, Policy: c.Policy}
		if err := validate(&spec); err != nil {
			return nil, err
		}
		c.Name, c.Scopes, c.DeviceTypes = spec.Name, spec.Scopes, spec.DeviceTypes
		if !slices.Equal(c.Templates, old.Templates) || c.DefaultTemplate != old.DefaultTemplate {
			c.Templates, c.DefaultTemplate = spec.Templates, spec.DefaultTemplate
		}
	}
	c.UpdatedAt = r.now().UTC()
	if err := r.store.PutClient(c); err != nil {
		return nil, fmt.Errorf("%w: storing client: %w", ErrUnavailable, err)
	}
	r.byID[id] = c

	return c, nil
}

// checkedChanged reports whether b differs from a in a setting that
// validate checks.
func checkedChanged(a, b *store.Client) bool {
	return a.Name != b.Name || !slices.Equal(a.Scopes, b.Scopes) ||
		!slices.Equal(a.DeviceTypes, b.DeviceTypes) || !slices.Equal(a.Templates, b.Templates) ||
		a.DefaultTemplate != b.DefaultTemplate || a.Policy != b.Policy
}

// Hold runs fn with the client with id while no update can run, so that
// what fn decides from the client still holds when it returns; fn must be
// quick, as reads wait too. It fails with ErrNotFound or fn's error.
func (r *Registry) Hold(id string, fn func(c *store.Client) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.byID[id]
	if !ok {
		return ErrNotFound
	}
	return fn(c)
}

// RotateSecret gives the client a new secret, returned once; the previous
// ones keep working for grace (zero ends them at once). It fails with
// ErrNotFound or ErrUnavailable.
func (r *Registry) RotateSecret(id string, grace time.Duration) (string, error) {
	secret := NewSecret()
	_, err := r.Update(id, func(c *store.Client) error {
		now := r.now().UTC()
		var kept []store.Secret
		for _, s := range c.Secrets {
			if !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt) {
				continue // already expired
			}
			if s.ExpiresAt.IsZero() || s.ExpiresAt.After(now.Add(grace)) {
				s.ExpiresAt = now.Add(grace)
			}
			if grace > 0 {
				kept = append(kept, s)
			}
		}

		c.Secrets = append([]store.Secret{r.secretHash(c.ID, secret, now)}, kept...)
		return nil
	})

	return secret, err
}

func (r *Registry) put(c *store.Client) {
	r.mu.Lock()
	r.byID[c.ID] = c
	r.mu.Unlock()
}

func (r *Registry) secretHash(id, secret string, now time.Time) store.Secret {
	keyID, sum := r.hasher.Sum("client-secret", id, secret)
	return store.Secret{Hash: sum, KeyID: keyID, CreatedAt: now}
}

func clone(c *store.Client) *store.Client {
	n := *c
	n.Secrets = slices.Clone(c.Secrets)
	n.Scopes = slices.Clone(c.Scopes)
	n.DeviceTypes = slices.Clone(c.DeviceTypes)
	n.Templates = slices.Clone(c.Templates)
	n.Limits = maps.Clone(c.Limits)
	n.Destinations.AllowedCountries = slices.Clone(c.Destinations.AllowedCountries)

	return &n
}

func validate(s *Spec) error {
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" || utf8.RuneCountInString(s.Name) > 100 || strings.ContainsFunc(s.Name, isControl) {
		return fmt.Errorf("%w: name must be 1 to 100 printable characters", ErrInvalidSpec)
	}
	if len(s.Scopes) == 0 {
		s.Scopes = slices.Clone(AllScopes)
	}
	for _, sc := range s.Scopes {
		if !slices.Contains(AllScopes, sc) {
			return fmt.Errorf("%w: unknown scope %.64q", ErrInvalidSpec, sc)
		}
	}

	s.Scopes = unique(s.Scopes)
	if len(s.DeviceTypes) == 0 {
		return fmt.Errorf("%w: deviceTypes must not be empty", ErrInvalidSpec)
	}
	s.DeviceTypes = unique(s.DeviceTypes)
	for _, t := range s.Templates {
		if t != "*" && !store.ValidTemplateName(t) {
			return fmt.Errorf("%w: template names are \"*\" or 1 to 64 letters, digits, '-' and '_'",
				ErrInvalidSpec)
		}
	}
	if s.DefaultTemplate != "" && !store.ValidTemplateName(s.DefaultTemplate) {
		return fmt.Errorf("%w: defaultTemplate must name one template", ErrInvalidSpec)
	}
	if s.DefaultTemplate != "" && !slices.Contains(s.Templates, s.DefaultTemplate) {
		s.Templates = append(s.Templates, s.DefaultTemplate)
	}
	if s.DefaultTemplate == "" {
		s.DefaultTemplate = firstNamed(s.Templates)
	}
	if err := otp.ValidatePolicy(s.Policy); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	return nil
}

// unique returns s without repeats, in the order of first appearance.
func unique[T comparable](s []T) []T {
	out := make([]T, 0, len(s))
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// firstNamed is the first of templates that names one template, not the
// "*" that allows every built-in one; "" for none.
func firstNamed(templates []string) string {
	for _, t := range templates {
		if t != "*" {
			return t
		}
	}
	return ""
}

// Printable reports whether s is valid UTF-8 without the characters a
// name must not hold, for labels such as client names and audit actors.
func Printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, isControl)
}

// isControl reports the characters a name must not hold: it goes into
// mail headers, SMS texts and authenticator apps, so C0 and C1 controls,
// line and paragraph separators, and the marks that reorder text.
func isControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\u200e' || r == '\u200f' ||
		r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069'
}

// NewID returns a new client id: "mfa_" and 26 base32 characters.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "mfa_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// NewSecret returns a new client secret: "mfasec_" and 256 random bits.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "mfasec_" + base64.RawURLEncoding.EncodeToString(b)
}
