package config

import (
	"strings"
	"testing"

	"github.com/ciam-mfa/ciam-mfa/pkg/envconf"
)

func loader(env map[string]string) *envconf.Loader {
	return envconf.New(func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
}

func TestLoad_ProductionFailsClosed(t *testing.T) {
	_, err := Load(loader(map[string]string{"MFA_DATA_DIR": t.TempDir()}))
	if err == nil {
		t.Fatal("Load without keys succeeded in production mode")
	}
	for _, name := range []string{"MFA_ISSUER", "MFA_ADMIN_TOKEN", "MFA_HMAC_KEYS",
		"MFA_DELIVERY_KEYS", "MFA_DATA_KEYS"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestLoad_DevGeneratesKeys(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(loader(map[string]string{"MFA_PROFILE": "dev", "MFA_DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HMACKeys == "" || c.DeliveryKeys == "" || c.DataKeys == "" || c.AdminToken == "" {
		t.Fatalf("dev profile left keys empty: %+v", c)
	}
	again, err := Load(loader(map[string]string{"MFA_PROFILE": "dev", "MFA_DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if again.DeliveryKeys != c.DeliveryKeys {
		t.Error("a second start generated different delivery keys")
	}
}

func TestLoad_Malformed(t *testing.T) {
	_, err := Load(loader(map[string]string{"MFA_PROFILE": "dev", "MFA_DATA_DIR": t.TempDir(),
		"MFA_TOKEN_TTL": "soon", "MFA_TRUSTED_PROXIES": "10.0.0.0/33",
		"MFA_AUDIT_RETENTION": "-1h"}))
	for _, name := range []string{"MFA_TOKEN_TTL", "MFA_TRUSTED_PROXIES", "MFA_AUDIT_RETENTION"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Load error = %v, want %s named", err, name)
		}
	}
}

func TestLoad_EmbeddedNATSBeyondLoopbackNeedsToken(t *testing.T) {
	base := map[string]string{"MFA_DATA_DIR": t.TempDir(), "MFA_ISSUER": "https://mfa.example",
		"MFA_ADMIN_TOKEN": "0123456789abcdef0123", "MFA_HMAC_KEYS": "h:" + strings.Repeat("A", 44),
		"MFA_DELIVERY_KEYS": "d:" + strings.Repeat("A", 43) + "=", "MFA_DATA_KEYS": "k:" + strings.Repeat("A", 43) + "=",
		"MFA_NATS_LISTEN": "0.0.0.0:4222"}
	if _, err := Load(loader(base)); err == nil || !strings.Contains(err.Error(), "MFA_NATS_TOKEN") {
		t.Fatalf("Load = %v; want MFA_NATS_TOKEN named", err)
	}
	base["MFA_NATS_TOKEN"] = "a-long-random-token"
	if _, err := Load(loader(base)); err != nil {
		t.Fatalf("with a token: %v", err)
	}
}
