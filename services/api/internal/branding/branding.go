// Package branding manages what makes a client's messages its own:
// uploaded templates (with locale variants), sender domains with their DKIM
// keys, and the sender identity. It keeps them in the store and publishes
// them to the MFA_CONFIG bucket, from which the workers read them.
package branding

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/pkg/render"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

// Errors returned by the Service.
var (
	// ErrNotFound is returned for an unknown template or domain.
	ErrNotFound = errors.New("branding: not found")
	// ErrInvalid is returned for a template, domain, key or sender that
	// cannot be used; the message says why.
	ErrInvalid = errors.New("branding: invalid")
	// ErrUnavailable is returned when the store or JetStream fails.
	ErrUnavailable = errors.New("branding: unavailable")
)

// Service holds the client templates and domains. It is safe for
// concurrent use.
type Service struct {
	store    *store.Store
	kv       jetstream.KeyValue
	data     *keyring.AEAD
	delivery *keyring.AEAD
	builtin  *render.Set
	log      *slog.Logger

	mu        sync.RWMutex
	templates map[string]*render.Template // by client id, 0x00, name
}

// New loads the client templates from st and republishes every template
// and DKIM key to the bucket, so that workers started against a fresh
// NATS see them too.
func New(ctx context.Context, st *store.Store, js jetstream.JetStream, data, delivery *keyring.AEAD,
	builtin *render.Set, log *slog.Logger) (*Service, error) {
	kv, err := js.KeyValue(ctx, events.BucketConfig)
	if err != nil {
		return nil, fmt.Errorf("opening bucket %s: %w", events.BucketConfig, err)
	}
	s := &Service{store: st, kv: kv, data: data, delivery: delivery, builtin: builtin, log: log,
		templates: map[string]*render.Template{}}
	list, err := st.ListTemplates()
	if err != nil {
		return nil, fmt.Errorf("loading templates: %w", err)
	}
	for _, ct := range list {
		t, err := render.Parse(ct.Name, ct.Revision, ct.Files)
		if err != nil {
			// Stored under older rules: leave it out, so that one client's
			// template cannot keep the service from starting; requests that
			// name it are refused until it is uploaded again.
			log.Error("stored template no longer loads; upload it again",
				slog.String("template", ct.Name), slog.String(logging.KeyClientID, ct.ClientID),
				logging.Err(err))
			continue
		}
		s.templates[key(ct.ClientID, ct.Name)] = t
		if err := s.publishTemplate(ctx, ct); err != nil {
			return nil, err
		}
	}

	return s, s.publishAllDKIM(ctx)
}

func key(clientID, name string) string { return clientID + "\x00" + name }

// Version returns the revision a delivery of template name for clientID
// names: the client's upload, or 0 for the built-in template. It fails
// with render.ErrUnknownTemplate.
func (s *Service) Version(clientID, name string) (int, error) {
	if t := s.clientTemplate(clientID, name); t != nil {
		return t.Version(), nil
	}
	if _, err := s.builtin.Get(name); err != nil {
		return 0, err
	}
	return 0, nil
}

func (s *Service) clientTemplate(clientID, name string) *render.Template {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.templates[key(clientID, name)]
}

// Template returns the template a client would use under name.
func (s *Service) Template(clientID, name string) (*render.Template, error) {
	if t := s.clientTemplate(clientID, name); t != nil {
		return t, nil
	}
	return s.builtin.Get(name)
}

// Info describes a stored template.
type Info struct {
	Name      string   `json:"name"`
	Revision  int      `json:"revision"`
	Locales   []string `json:"locales"`
	BuiltIn   bool     `json:"builtIn"`
	SMS       SMSInfo  `json:"sms"`
	UpdatedAt string   `json:"updatedAt,omitempty"`
}

// SMSInfo reports how the template's SMS, rendered with sample data, is
// carried.
type SMSInfo struct {
	Encoding string `json:"encoding"`
	Units    int    `json:"units"`
	Segments int    `json:"segments"`
}

func smsInfo(t *render.Template, locale string) (SMSInfo, error) {
	text, err := t.SMS(locale, render.SampleData)
	if err != nil {
		return SMSInfo{}, err
	}
	seg := render.Segments(text)
	return SMSInfo{Encoding: seg.Encoding.String(), Units: seg.Units, Segments: seg.Segments}, nil
}

// Put parses and stores a client's template under the next revision and
// publishes it. The files are checked first: a template that does not
// parse, fails a trial render, or whose SMS (in any locale) takes more
// segments than the client allows is refused with ErrInvalid naming the
// file and line, and the previous revision keeps serving.
func (s *Service) Put(ctx context.Context, c *store.Client, name string, files map[string]string) (Info, error) {
	if !store.ValidTemplateName(name) {
		return Info{}, fmt.Errorf("%w: template names are 1 to 64 letters, digits, - and _", ErrInvalid)
	}
	t, err := render.Parse(name, 0, files)
	if err != nil {
		return Info{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := checkSegments(t, c.SMSMaxSegments); err != nil {
		return Info{}, err
	}
	ct := &store.ClientTemplate{ClientID: c.ID, Name: name, Files: files, UpdatedAt: time.Now().UTC()}
	rev, err := s.store.PutTemplate(ct)
	if err != nil {
		return Info{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err := s.publishTemplate(ctx, ct); err != nil {
		return Info{}, err
	}
	t, _ = render.Parse(name, rev, files)
	s.mu.Lock()
	s.templates[key(c.ID, name)] = t
	s.mu.Unlock()

	return s.info(t, false, ct.UpdatedAt), nil
}

func checkSegments(t *render.Template, max int) error {
	if max <= 0 {
		return nil
	}
	for _, locale := range append([]string{""}, t.Locales()...) {
		info, err := smsInfo(t, locale)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if info.Segments > max {
			where := "sms.txt"
			if locale != "" {
				where = locale + "/sms.txt"
			}
			return fmt.Errorf("%w: %s takes %d %s segments with sample data; the client allows %d",
				ErrInvalid, where, info.Segments, info.Encoding, max)
		}
	}

	return nil
}

// usable returns the templates c may use: its uploads, and the built-in
// ones it is allowed that no upload of the same name replaces.
func (s *Service) usable(c *store.Client) (uploads, builtins []*render.Template) {
	seen := map[string]bool{}
	s.mu.RLock()
	for k, t := range s.templates {
		if strings.HasPrefix(k, c.ID+"\x00") {
			uploads = append(uploads, t)
			seen[t.Name()] = true
		}
	}
	s.mu.RUnlock()
	for _, name := range s.builtin.Names() {
		if t, err := s.builtin.Get(name); err == nil && !seen[name] && c.AllowsTemplate(name) {
			builtins = append(builtins, t)
		}
	}
	return uploads, builtins
}

// CheckSegments refuses a cap of most SMS segments (0 for none) that the
// SMS of a template c may use takes more of, in any of its locales, with
// ErrInvalid naming the template and the file.
func (s *Service) CheckSegments(c *store.Client, most int) error {
	uploads, builtins := s.usable(c)
	for _, t := range append(uploads, builtins...) {
		if err := checkSegments(t, most); err != nil {
			return fmt.Errorf("%w: template %s: %s", ErrInvalid, t.Name(),
				strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
		}
	}
	return nil
}

func (s *Service) info(t *render.Template, builtin bool, updated time.Time) Info {
	sms, _ := smsInfo(t, "")
	in := Info{Name: t.Name(), Revision: t.Version(), Locales: t.Locales(), BuiltIn: builtin, SMS: sms}
	if in.Locales == nil {
		in.Locales = []string{}
	}
	if !updated.IsZero() {
		in.UpdatedAt = updated.Format(time.RFC3339)
	}
	return in
}

func (s *Service) publishTemplate(ctx context.Context, ct *store.ClientTemplate) error {
	data, err := events.MarshalConfig(&events.TemplateRecord{ClientID: ct.ClientID, Name: ct.Name,
		Revision: ct.Revision, Files: ct.Files, UpdatedAt: ct.UpdatedAt})
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, events.TemplateKey(ct.ClientID, ct.Name), data); err != nil {
		return fmt.Errorf("%w: publishing template: %w", ErrUnavailable, err)
	}
	return nil
}

// List returns the templates a client may use: its own uploads and the
// built-in ones it is allowed.
func (s *Service) List(c *store.Client) []Info {
	var out []Info
	uploads, builtins := s.usable(c)
	for _, t := range uploads {
		out = append(out, s.info(t, false, time.Time{}))
	}
	for _, t := range builtins {
		out = append(out, s.info(t, true, time.Time{}))
	}

	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })

	return out
}

// Delete removes a client's upload; the built-in template of that name, if
// any, serves again. It fails with ErrNotFound.
func (s *Service) Delete(ctx context.Context, clientID, name string) error {
	if err := s.store.DeleteTemplate(clientID, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}

	s.mu.Lock()
	delete(s.templates, key(clientID, name))
	s.mu.Unlock()
	if err := s.kv.Delete(ctx, events.TemplateKey(clientID, name)); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// Preview renders a client's template for locale with sample data, or with
// the given data.
func (s *Service) Preview(c *store.Client, name, locale string,
	data render.Data) (render.Email, string, SMSInfo, error) {
	t, err := s.Template(c.ID, name)
	if err != nil {
		return render.Email{}, "", SMSInfo{}, ErrNotFound
	}
	email, err := t.Email(locale, data)
	if err != nil {
		return render.Email{}, "", SMSInfo{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	sms, err := t.SMS(locale, data)
	if err != nil {
		return render.Email{}, "", SMSInfo{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	seg := render.Segments(sms)

	return email, sms, SMSInfo{Encoding: seg.Encoding.String(), Units: seg.Units, Segments: seg.Segments}, nil
}
