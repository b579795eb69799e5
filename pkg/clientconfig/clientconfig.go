// Package clientconfig gives workers the per-client settings that mfa-api
// publishes to the MFA_CONFIG key-value bucket: uploaded templates and DKIM
// keys. It loads the bucket at start, watches it for changes, and falls back
// to a direct read when an event names a version it has not seen yet, so
// workers share no disk with mfa-api and never read its store.
package clientconfig

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/pkg/render"
)

// Errors returned by the Store.
var (
	// ErrNotYet is returned when an event names a template revision that
	// the bucket does not hold yet; the delivery should be retried.
	ErrNotYet = errors.New("clientconfig: template revision not published yet")
	// ErrNoDKIM is returned when a client has no DKIM key for a domain.
	ErrNoDKIM = errors.New("clientconfig: no DKIM key for domain")
)

// DKIM is a client's signing key for one domain.
type DKIM struct {
	Domain   string
	Selector string
	// PEM is the private key.
	PEM []byte
}

// Store holds the current per-client settings. It is safe for concurrent
// use.
type Store struct {
	kv      jetstream.KeyValue
	ring    *keyring.AEAD
	builtin *render.Set
	log     *slog.Logger

	mu        sync.RWMutex
	templates map[string]*render.Template
	dkim      map[string]DKIM
}

// Open reads the bucket and keeps watching it until ctx ends. ring opens
// DKIM keys; builtin holds the templates every binary carries.
func Open(ctx context.Context, js jetstream.JetStream, ring *keyring.AEAD, builtin *render.Set,
	log *slog.Logger) (*Store, error) {
	kv, err := js.KeyValue(ctx, events.BucketConfig)
	if err != nil {
		return nil, fmt.Errorf("opening bucket %s: %w", events.BucketConfig, err)
	}
	s := &Store{kv: kv, ring: ring, builtin: builtin, log: log,
		templates: map[string]*render.Template{}, dkim: map[string]DKIM{}}
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("watching bucket %s: %w", events.BucketConfig, err)
	}
	// The watcher first replays every current value, then a nil marks the
	// end of them; later values are changes.
	for e := range w.Updates() {
		if e == nil {
			break
		}
		s.apply(e)
	}

	go func() {
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e != nil {
					s.apply(e)
				}
			}
		}
	}()

	return s, nil
}

func (s *Store) apply(e jetstream.KeyValueEntry) {
	if err := s.load(e.Key(), e.Value()); err != nil {
		s.log.Warn("config entry not loaded", slog.String("key", e.Key()), logging.Err(err))
	}
}

// load parses one bucket value into the cache.
func (s *Store) load(key string, value []byte) error {
	switch {
	case len(key) > 9 && key[:9] == "template.":
		var rec events.TemplateRecord
		if err := events.UnmarshalConfig(value, &rec); err != nil {
			return err
		}
		t, err := render.Parse(rec.Name, rec.Revision, rec.Files)
		if err != nil {
			return err
		}
		s.mu.Lock()
		if old := s.templates[key]; old == nil || old.Version() < t.Version() {
			s.templates[key] = t
		}
		s.mu.Unlock()
	case len(key) > 5 && key[:5] == "dkim.":
		var rec events.DKIMRecord
		if err := events.UnmarshalConfig(value, &rec); err != nil {
			return err
		}
		pem, err := rec.Open(s.ring)
		if err != nil {
			return fmt.Errorf("opening dkim key: %w", err)
		}
		s.mu.Lock()
		s.dkim[key] = DKIM{Domain: rec.Domain, Selector: rec.Selector, PEM: pem}
		s.mu.Unlock()
	}
	return nil
}

// Template returns the template a delivery names: revision 0 is the
// built-in template of that name, a higher one the client's upload of at
// least that revision. It fails with ErrNotYet (retry) or
// render.ErrUnknownTemplate.
func (s *Store) Template(ctx context.Context, clientID, name string, revision int) (*render.Template, error) {
	if revision == 0 {
		return s.builtin.Get(name)
	}
	key := events.TemplateKey(clientID, name)
	if t := s.cached(key); t != nil && t.Version() >= revision {
		return t, nil
	}
	if s.kv == nil {
		return nil, fmt.Errorf("%w: %s revision %d", ErrNotYet, name, revision)
	}
	entry, err := s.kv.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %s revision %d: %w", ErrNotYet, name, revision, err)
	}
	if err := s.load(key, entry.Value()); err != nil {
		return nil, err
	}
	if t := s.cached(key); t != nil && t.Version() >= revision {
		return t, nil
	}
	return nil, fmt.Errorf("%w: %s revision %d", ErrNotYet, name, revision)
}

func (s *Store) cached(key string) *render.Template {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.templates[key]
}

// DKIM returns the client's signing key for domain, reading the bucket if
// the watch has not delivered it yet. It fails with ErrNoDKIM.
func (s *Store) DKIM(ctx context.Context, clientID, domain string) (DKIM, error) {
	key := events.DKIMKey(clientID, domain)
	s.mu.RLock()
	d, ok := s.dkim[key]
	s.mu.RUnlock()
	if ok {
		return d, nil
	}
	if s.kv == nil {
		return DKIM{}, fmt.Errorf("%w %s", ErrNoDKIM, domain)
	}
	entry, err := s.kv.Get(ctx, key)
	if err != nil {
		return DKIM{}, fmt.Errorf("%w %s: %w", ErrNoDKIM, domain, err)
	}
	if err := s.load(key, entry.Value()); err != nil {
		return DKIM{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if d, ok := s.dkim[key]; ok {
		return d, nil
	}
	return DKIM{}, fmt.Errorf("%w %s", ErrNoDKIM, domain)
}

// Static returns a Store over the built-in templates only, for tests and
// tools that run without NATS.
func Static(builtin *render.Set) *Store {
	return &Store{builtin: builtin, templates: map[string]*render.Template{}, dkim: map[string]DKIM{}}
}
