package clients

import (
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/keyedhash"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

// TestUpdate_OlderClientStaysManageable stores a client as older rules
// allowed it (a template name with a dot) and checks that it can still be
// disabled and given a new secret, while a change to a checked setting is
// still refused.
func TestUpdate_OlderClientStaysManageable(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "mfa.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	h, err := keyedhash.New("k1:" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32))))
	if err != nil {
		t.Fatal(err)
	}
	old := &store.Client{ID: "mfa_older", Name: "Older", Scopes: AllScopes,
		DeviceTypes: []store.DeviceType{store.DeviceEmail}, Templates: []string{"welcome.v2"},
		DefaultTemplate: "welcome.v2"}
	if err := st.CreateClient(old); err != nil {
		t.Fatal(err)
	}
	r, err := Load(st, h)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := r.Update(old.ID, func(c *store.Client) error { c.Disabled = true; return nil }); err != nil {
		t.Errorf("disable = %v, want nil", err)
	}
	if _, err := r.RotateSecret(old.ID, 0); err != nil {
		t.Errorf("rotate secret = %v, want nil", err)
	}
	_, err = r.Update(old.ID, func(c *store.Client) error { c.Templates = append(c.Templates, "x.y"); return nil })
	if !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("adding a bad template name = %v, want ErrInvalidSpec", err)
	}
}
