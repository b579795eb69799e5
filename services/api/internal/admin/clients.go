package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/branding"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/clients"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/destination"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/httpio"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/limits"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/totp"
	"github.com/ciam-mfa/ciam-mfa/templates"
)

// maxAdminBody bounds admin request bodies (templates are larger).
const maxAdminBody = 256 << 10

// policyJSON is a client's OTP policy in seconds.
type policyJSON struct {
	CodeLength            int `json:"codeLength,omitempty"`
	LifetimeSeconds       int `json:"lifetimeSeconds,omitempty"`
	MaxLifetimeSeconds    int `json:"maxLifetimeSeconds,omitempty"`
	MaxAttempts           int `json:"maxAttempts,omitempty"`
	ResendCooldownSeconds int `json:"resendCooldownSeconds,omitempty"`
	MaxResends            int `json:"maxResends,omitempty"`
}

// maxPolicySeconds bounds every seconds field of a policy before it is
// converted, so that no value overflows into one that passes the checks.
const maxPolicySeconds = 1 << 30

func (p policyJSON) toStore() store.OTPPolicy {
	sec := func(n int) time.Duration {
		if n < 0 || n > maxPolicySeconds {
			return -time.Second // out of every range: otp.ValidatePolicy refuses it
		}
		return time.Duration(n) * time.Second
	}
	return store.OTPPolicy{CodeLength: p.CodeLength, Lifetime: sec(p.LifetimeSeconds),
		MaxLifetime: sec(p.MaxLifetimeSeconds), MaxAttempts: p.MaxAttempts,
		ResendCooldown: sec(p.ResendCooldownSeconds), MaxResends: p.MaxResends}
}

func policyOf(p store.OTPPolicy) policyJSON {
	sec := func(d time.Duration) int { return int(d / time.Second) }
	return policyJSON{CodeLength: p.CodeLength, LifetimeSeconds: sec(p.Lifetime),
		MaxLifetimeSeconds: sec(p.MaxLifetime), MaxAttempts: p.MaxAttempts,
		ResendCooldownSeconds: sec(p.ResendCooldown), MaxResends: p.MaxResends}
}

// clientRequest creates or updates a client; on update, absent fields are
// left as they are.
type clientRequest struct {
	Name            *string     `json:"name"`
	Scopes          []string    `json:"scopes"`
	DeviceTypes     []string    `json:"deviceTypes"`
	Templates       []string    `json:"templates"`
	DefaultTemplate *string     `json:"defaultTemplate"`
	Policy          *policyJSON `json:"policy"`
	TOTP            *totpJSON   `json:"totp"`
	// Limits overrides rate limits by name: client, destination, user, ip,
	// smsCountry, smsPrefix, failures.
	Limits       map[string]limitJSON `json:"limits"`
	Destinations *destinationsJSON    `json:"destinations"`
	// EmailSender must use a domain registered for the client.
	EmailSender    *store.EmailSender `json:"emailSender"`
	SMSSender      *string            `json:"smsSender"`
	Brand          *events.Brand      `json:"brand"`
	SMSMaxSegments *int               `json:"smsMaxSegments"`
}

// applyBranding checks and sets the sender, brand and SMS settings of req
// on cl.
func (s *server) applyBranding(cl *store.Client, req *clientRequest) error {
	if req.EmailSender != nil {
		if cl.ID == "" && req.EmailSender.FromAddress != "" {
			return httpio.BadRequest("emailSender needs a registered domain: create the client, " +
				"add its domain, then update the client")
		}

		es, err := s.Branding.CheckSender(cl, *req.EmailSender)
		if err != nil {
			return err
		}
		cl.EmailSender = es
	}

	if req.SMSSender != nil {
		if *req.SMSSender != "" && !branding.ValidSMSSender(*req.SMSSender) {
			return httpio.BadRequest("smsSender must be 3 to 11 letters and digits, or an E.164 number")
		}
		cl.SMSSender = *req.SMSSender
	}

	if req.Brand != nil {
		if err := checkBrand(*req.Brand); err != nil {
			return err
		}
		cl.Brand = *req.Brand
	}

	if req.SMSMaxSegments != nil {
		if *req.SMSMaxSegments < 0 || *req.SMSMaxSegments > 10 {
			return httpio.BadRequest("smsMaxSegments must be 0 (no cap) to 10")
		}
		cl.SMSMaxSegments = *req.SMSMaxSegments
	}

	return nil
}

// segmentsFit turns a template's refusal of a segment cap into the
// answer to the client update that set the cap or the templates.
func segmentsFit(err error) error {
	if err == nil {
		return nil
	}
	msg := strings.TrimPrefix(err.Error(), branding.ErrInvalid.Error()+": ")
	return httpio.BadRequest("smsMaxSegments: " + msg)
}

func checkBrand(b events.Brand) error {
	if u, err := url.Parse(b.LogoURL); b.LogoURL != "" && (err != nil || u.Scheme != "https" || u.Host == "") {
		return httpio.BadRequest("brand.logoUrl must be an https URL")
	}
	if b.PrimaryColor != "" && !isColor(b.PrimaryColor) {
		return httpio.BadRequest("brand.primaryColor must be #rgb or #rrggbb")
	}
	if b.SupportEmail != "" {
		if _, err := destination.ParseEmail(b.SupportEmail, destination.EmailOptions{}); err != nil {
			return httpio.BadRequest("brand.supportEmail must be a bare address")
		}
	}

	return nil
}

func isColor(c string) bool {
	if (len(c) != 4 && len(c) != 7) || c[0] != '#' {
		return false
	}
	for i := 1; i < len(c); i++ {
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(c[i])) {
			return false
		}
	}

	return true
}

// limitJSON is one rate limit: at most max per windowSeconds.
type limitJSON struct {
	Max           int `json:"max"`
	WindowSeconds int `json:"windowSeconds"`
	HardStop      int `json:"hardStop,omitempty"`
}

// destinationsJSON is what a client accepts as destinations.
type destinationsJSON struct {
	AllowUnicodeEmail bool     `json:"allowUnicodeEmail"`
	DefaultRegion     string   `json:"defaultRegion"`
	AllowedCountries  []string `json:"allowedCountries"`
}

func limitsOf(in map[string]limitJSON) (map[string]store.LimitRule, error) {
	if in == nil {
		return nil, nil
	}
	out := map[string]store.LimitRule{}
	for name, l := range in {
		if !slices.Contains(limits.Names, name) || name == limits.NameTokenFailures {
			return nil, httpio.BadRequest(fmt.Sprintf("limits: unknown limit %.48q", name))
		}
		if l.HardStop != 0 && name != limits.NameFailures {
			return nil, httpio.BadRequest("limits." + name + ": only failures takes a hardStop")
		}
		if l.Max < 0 || l.WindowSeconds <= 0 || l.WindowSeconds > int(limits.LongestWindow/time.Second) ||
			l.HardStop < 0 {
			return nil, httpio.BadRequest("limits." + name + ": max >= 0 and windowSeconds 1 to 2592000")
		}
		out[name] = store.LimitRule{Max: l.Max, Window: time.Duration(l.WindowSeconds) * time.Second,
			HardStop: l.HardStop}
	}

	return out, nil
}

func (d *destinationsJSON) toStore() (store.DestinationPolicy, error) {
	p := store.DestinationPolicy{AllowUnicodeEmail: d.AllowUnicodeEmail,
		DefaultRegion: strings.ToUpper(d.DefaultRegion)}
	if d.DefaultRegion != "" && !destination.KnownRegion(d.DefaultRegion, false) {
		return p, httpio.BadRequest("destinations.defaultRegion must be an ISO 3166 alpha-2 code " +
			"such as US")
	}
	for _, r := range d.AllowedCountries {
		if !destination.KnownRegion(r, true) {
			return p, httpio.BadRequest("destinations.allowedCountries holds ISO 3166 alpha-2 " +
				"codes such as US, or 001 for numbers of no country")
		}
	}

	for _, r := range d.AllowedCountries {
		p.AllowedCountries = append(p.AllowedCountries, strings.ToUpper(r))
	}
	return p, nil
}

// totpJSON is a client's authenticator app parameters.
type totpJSON struct {
	Algorithm string `json:"algorithm,omitempty"`
	Digits    int    `json:"digits,omitempty"`
	Period    int    `json:"period,omitempty"`
	Issuer    string `json:"issuer,omitempty"`
}

func (t *totpJSON) toStore() (store.TOTPPolicy, error) {
	p := totp.Params{Algorithm: t.Algorithm, Digits: t.Digits, Period: t.Period}
	if err := p.Validate(); err != nil {
		return store.TOTPPolicy{}, httpio.BadRequest("totp: " + err.Error())
	}
	if !totp.ValidIssuer(t.Issuer) {
		return store.TOTPPolicy{}, httpio.BadRequest(
			"totp.issuer must be at most 64 printable characters without ':'")
	}
	return store.TOTPPolicy{Algorithm: strings.ToUpper(t.Algorithm), Digits: t.Digits, Period: t.Period,
		Issuer: t.Issuer}, nil
}

type secretView struct {
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

type clientView struct {
	ClientID        string               `json:"clientId"`
	Name            string               `json:"name"`
	Scopes          []string             `json:"scopes"`
	DeviceTypes     []string             `json:"deviceTypes"`
	Templates       []string             `json:"templates"`
	DefaultTemplate string               `json:"defaultTemplate,omitempty"`
	Disabled        bool                 `json:"disabled"`
	Policy          policyJSON           `json:"policy"`
	TOTP            totpJSON             `json:"totp"`
	Limits          map[string]limitJSON `json:"limits"`
	Destinations    destinationsJSON     `json:"destinations"`
	EmailSender     store.EmailSender    `json:"emailSender"`
	SMSSender       string               `json:"smsSender,omitempty"`
	Brand           events.Brand         `json:"brand"`
	SMSMaxSegments  int                  `json:"smsMaxSegments"`
	Secrets         []secretView         `json:"secrets"`
	CreatedAt       time.Time            `json:"createdAt"`
	UpdatedAt       time.Time            `json:"updatedAt"`
}

// listOf is l, or an empty list for none, so that JSON shows [] rather
// than null.
func listOf[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

func viewOf(c *store.Client) clientView {
	v := clientView{ClientID: c.ID, Name: c.Name, Scopes: listOf(c.Scopes),
		Templates:       listOf(c.Templates),
		DefaultTemplate: c.DefaultTemplate, Disabled: c.Disabled, Policy: policyOf(c.Policy),
		TOTP: totpJSON{Algorithm: c.TOTP.Algorithm, Digits: c.TOTP.Digits, Period: c.TOTP.Period,
			Issuer: c.TOTP.Issuer},
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, DeviceTypes: []string{}, Secrets: []secretView{}}
	for _, d := range c.DeviceTypes {
		v.DeviceTypes = append(v.DeviceTypes, d.String())
	}
	v.Limits = map[string]limitJSON{}
	for name, l := range c.Limits {
		v.Limits[name] = limitJSON{Max: l.Max, WindowSeconds: int(l.Window / time.Second), HardStop: l.HardStop}
	}
	v.EmailSender, v.SMSSender, v.Brand, v.SMSMaxSegments = c.EmailSender, c.SMSSender, c.Brand, c.SMSMaxSegments
	v.Destinations = destinationsJSON{AllowUnicodeEmail: c.Destinations.AllowUnicodeEmail,
		DefaultRegion:    c.Destinations.DefaultRegion,
		AllowedCountries: listOf(c.Destinations.AllowedCountries)}
	for _, s := range c.Secrets {
		sv := secretView{CreatedAt: s.CreatedAt}
		if !s.ExpiresAt.IsZero() {
			sv.ExpiresAt = &s.ExpiresAt
		}
		v.Secrets = append(v.Secrets, sv)
	}

	return v
}

type createdClient struct {
	ClientID     string     `json:"clientId"`
	ClientSecret string     `json:"clientSecret"`
	Client       clientView `json:"client"`
}

func decode(c echo.Context, v any) error {
	body, err := httpio.ReadBody(c, maxAdminBody)
	if err != nil {
		return err
	}
	return httpio.DecodeStrict(body, v)
}

func deviceTypes(names []string) ([]store.DeviceType, error) {
	out := make([]store.DeviceType, 0, len(names))
	for _, n := range names {
		d, ok := store.ParseDeviceType(n)
		if !ok {
			return nil, httpio.BadRequest("deviceTypes: each must be EMAIL, SMS or TOTP")
		}
		out = append(out, d)
	}

	return out, nil
}

func (s *server) createClient(c echo.Context) error {
	var req clientRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	spec := clients.Spec{Scopes: req.Scopes, Templates: req.Templates}
	if req.Name != nil {
		spec.Name = *req.Name
	}
	if req.DefaultTemplate != nil {
		spec.DefaultTemplate = *req.DefaultTemplate
	}
	if req.Policy != nil {
		spec.Policy = req.Policy.toStore()
	}
	dts, err := deviceTypes(req.DeviceTypes)
	if err != nil {
		return err
	}
	spec.DeviceTypes = dts
	if req.TOTP != nil {
		if spec.TOTP, err = req.TOTP.toStore(); err != nil {
			return err
		}
	}

	if spec.Limits, err = limitsOf(req.Limits); err != nil {
		return err
	}
	if req.Destinations != nil {
		if spec.Destinations, err = req.Destinations.toStore(); err != nil {
			return err
		}
	}

	if len(spec.Templates) == 0 && spec.DefaultTemplate == "" && sends(spec.DeviceTypes) {
		spec.Templates = []string{templates.Default}
	}
	if err := s.knownTemplates("", append(spec.Templates, spec.DefaultTemplate)); err != nil {
		return err
	}

	brand := store.Client{Templates: spec.Templates}
	if err := s.applyBranding(&brand, &req); err != nil {
		return err
	}
	if err := segmentsFit(s.Branding.CheckSegments(&brand, brand.SMSMaxSegments)); err != nil {
		return err
	}
	spec.EmailSender, spec.SMSSender, spec.Brand, spec.SMSMaxSegments =
		brand.EmailSender, brand.SMSSender, brand.Brand, brand.SMSMaxSegments
	cl, secret, err := s.Clients.Create(spec)
	if err != nil {
		return err
	}
	setTarget(c, "id="+cl.ID)
	return c.JSON(http.StatusCreated, createdClient{ClientID: cl.ID, ClientSecret: secret, Client: viewOf(cl)})
}

// sends reports whether a client of device types dts sends messages,
// which need a template.
func sends(dts []store.DeviceType) bool {
	return slices.Contains(dts, store.DeviceEmail) || slices.Contains(dts, store.DeviceSMS)
}

// knownTemplates refuses names that are neither built in nor uploaded for
// clientID ("" before the client exists): a client allowed only such
// names could send nothing. Names of the wrong shape and "*" are left to
// the client's own checks.
func (s *server) knownTemplates(clientID string, names []string) error {
	for _, n := range names {
		if n == "*" || !store.ValidTemplateName(n) {
			continue
		}
		if _, err := s.Branding.Version(clientID, n); err != nil {
			return httpio.BadRequest(fmt.Sprintf(
				"template %q is neither built in nor uploaded for this client; uploading it also allows it",
				n))
		}
	}
	return nil
}

func (s *server) listClients(c echo.Context) error {
	out := []clientView{}
	for _, cl := range s.Clients.List() {
		out = append(out, viewOf(cl))
	}
	return c.JSON(http.StatusOK, map[string]any{"clients": out})
}

func (s *server) getClient(c echo.Context) error {
	cl, ok := s.Clients.Get(c.Param("id"))
	if !ok {
		return clients.ErrNotFound
	}
	return c.JSON(http.StatusOK, viewOf(cl))
}

func (s *server) updateClient(c echo.Context) error {
	var req clientRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Scopes != nil && len(req.Scopes) == 0 {
		return httpio.BadRequest("scopes must not be empty; disable a client to stop it")
	}
	dts, err := deviceTypes(req.DeviceTypes)
	if err != nil {
		return err
	}
	var tp store.TOTPPolicy
	if req.TOTP != nil {
		if tp, err = req.TOTP.toStore(); err != nil {
			return err
		}
	}

	lim, err := limitsOf(req.Limits)
	if err != nil {
		return err
	}
	var dest store.DestinationPolicy
	if req.Destinations != nil {
		if dest, err = req.Destinations.toStore(); err != nil {
			return err
		}
	}
	named := slices.Clone(req.Templates)
	if req.DefaultTemplate != nil {
		named = append(named, *req.DefaultTemplate)
	}
	if _, ok := s.Clients.Get(c.Param("id")); !ok {
		return clients.ErrNotFound
	}
	if err := s.knownTemplates(c.Param("id"), named); err != nil {
		return err
	}

	cl, err := s.Clients.Update(c.Param("id"), func(cl *store.Client) error {
		if req.TOTP != nil {
			cl.TOTP = tp
		}
		if req.Limits != nil {
			cl.Limits = lim
		}
		if req.Destinations != nil {
			cl.Destinations = dest
		}
		if err := s.applyBranding(cl, &req); err != nil {
			return err
		}
		if req.Name != nil {
			cl.Name = *req.Name
		}
		if req.Scopes != nil {
			cl.Scopes = req.Scopes
		}
		if req.DeviceTypes != nil {
			cl.DeviceTypes = dts
		}
		if req.Templates != nil {
			cl.Templates = req.Templates
		}
		if req.DefaultTemplate != nil {
			cl.DefaultTemplate = *req.DefaultTemplate
		}
		if req.Policy != nil {
			cl.Policy = req.Policy.toStore()
		}
		if req.SMSMaxSegments != nil || req.Templates != nil {
			return segmentsFit(s.Branding.CheckSegments(cl, cl.SMSMaxSegments))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewOf(cl))
}

func (s *server) setDisabled(disabled bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		cl, err := s.Clients.Update(c.Param("id"), func(cl *store.Client) error {
			cl.Disabled = disabled
			return nil
		})
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, viewOf(cl))
	}
}

type rotateRequest struct {
	GraceSeconds *int `json:"graceSeconds"`
}

func (s *server) rotateSecret(c echo.Context) error {
	var req rotateRequest
	if c.Request().ContentLength != 0 {
		if err := decode(c, &req); err != nil {
			return err
		}
	}

	grace := 24 * time.Hour
	if req.GraceSeconds != nil {
		if *req.GraceSeconds < 0 || *req.GraceSeconds > 30*86400 {
			return httpio.BadRequest("graceSeconds must be 0 to 2592000")
		}
		grace = time.Duration(*req.GraceSeconds) * time.Second
	}

	secret, err := s.Clients.RotateSecret(c.Param("id"), grace)
	if err != nil {
		return err
	}
	cl, _ := s.Clients.Get(c.Param("id"))

	return c.JSON(http.StatusOK, createdClient{ClientID: cl.ID, ClientSecret: secret, Client: viewOf(cl)})
}

func (s *server) rotateKeys(c echo.Context) error {
	kid, err := s.Keys.Rotate()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"activeKid": kid, "jwks": s.Keys.JWKS()})
}

func (s *server) listKeys(c echo.Context) error {
	return c.JSON(http.StatusOK, s.Keys.JWKS())
}
