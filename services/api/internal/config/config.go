// Package config loads mfa-api's configuration from MFA_* environment
// variables, validating all of it before anything starts.
//
// Without MFA_PROFILE=dev the service runs in production mode and fails
// closed: a missing key, secret or address stops it with a message naming
// the variable. The dev profile fills those in with loopback addresses and
// keys generated under MFA_DATA_DIR (default var/).
package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/envconf"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/vonagesig"
)

// Config is mfa-api's configuration. Durations are Go durations ("5m").
type Config struct {
	// Dev is MFA_PROFILE=dev.
	Dev bool
	// HTTPAddr is the public listener (MFA_HTTP_ADDR); default
	// 127.0.0.1:8080 in dev, :8080 otherwise.
	HTTPAddr string
	// AdminAddr is the admin listener (MFA_ADMIN_ADDR); default
	// 127.0.0.1:8081.
	AdminAddr string
	// AdminToken guards the admin API (MFA_ADMIN_TOKEN); required outside
	// dev, where one is generated into var/dev.env.
	AdminToken string
	// Issuer is the tokens' iss and the public base URL (MFA_ISSUER);
	// required outside dev.
	Issuer string
	// Audience is the tokens' aud (MFA_AUDIENCE); default ciam-mfa.
	Audience string
	// TokenTTL is an access token's lifetime (MFA_TOKEN_TTL); default 15m.
	TokenTTL time.Duration
	// DataDir holds the bbolt file and, when embedded, JetStream's files
	// (MFA_DATA_DIR); default var/ in dev, /var/lib/ciam-mfa otherwise.
	DataDir string
	// NATSURL is the NATS server to use (MFA_NATS_URL); empty runs an
	// embedded one.
	NATSURL string
	// NATSListen is the embedded server's address (MFA_NATS_LISTEN);
	// default 127.0.0.1:4222.
	NATSListen string
	// NATSToken authenticates to NATS and, for the embedded server, is
	// required of every client (MFA_NATS_TOKEN); required outside dev when
	// the embedded server listens beyond loopback.
	NATSToken string
	// NATSSyncInterval is how often the embedded JetStream fsyncs
	// (MFA_NATS_SYNC_INTERVAL); default the server's 2m; "always" (-1)
	// fsyncs every write.
	NATSSyncInterval time.Duration
	// StreamReplicas is the replica count of every stream
	// (MFA_STREAM_REPLICAS); default 1.
	StreamReplicas int
	// HMACKeys, DeliveryKeys and DataKeys are "id:base64" lists, primary
	// first (MFA_HMAC_KEYS, MFA_DELIVERY_KEYS, MFA_DATA_KEYS, or the same
	// names in MFA_KEYS_FILE); required outside dev.
	HMACKeys, DeliveryKeys, DataKeys string
	// TemplatesDir overrides or adds to the built-in templates
	// (MFA_TEMPLATES_DIR); default none.
	TemplatesDir string
	// LogLevel and LogFormat (MFA_LOG_LEVEL, MFA_LOG_FORMAT); default info
	// and json (text in dev).
	LogLevel, LogFormat string
	// MaxBody is the request body limit in bytes (MFA_MAX_BODY_BYTES);
	// default 16384.
	MaxBody int64
	// PublishTimeout bounds the wait for a JetStream ack
	// (MFA_PUBLISH_TIMEOUT); default 3s.
	PublishTimeout time.Duration
	// ShutdownTimeout bounds the whole shutdown (MFA_SHUTDOWN_TIMEOUT);
	// default 20s.
	ShutdownTimeout time.Duration
	// MaxCodeLifetime caps every client's code lifetime
	// (MFA_MAX_CODE_LIFETIME); default and at most 10m, at least 30s.
	// Challenges are swept this long plus ChallengeRetention after they
	// were created.
	MaxCodeLifetime time.Duration
	// ChallengeRetention is how long finished challenges are kept
	// (MFA_CHALLENGE_RETENTION); default 24h.
	ChallengeRetention time.Duration
	// AuditRetention is how long audit entries are kept
	// (MFA_AUDIT_RETENTION); default 0, for ever.
	AuditRetention time.Duration
	// SweepInterval is how often old challenges are deleted
	// (MFA_SWEEP_INTERVAL); default 1m.
	SweepInterval time.Duration
	// BatchSize is the most writes one shared bbolt commit takes
	// (MFA_BATCH_SIZE); default 1000.
	BatchSize int
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed
	// (MFA_TRUSTED_PROXIES); default none.
	TrustedProxies []*net.IPNet
	// VonageSignatureSecret checks signed Vonage delivery receipts
	// (MFA_VONAGE_SIGNATURE_SECRET); without it receipts are refused.
	VonageSignatureSecret string
	// VonageSignatureMethod is md5hash, md5, sha1, sha256 or sha512
	// (MFA_VONAGE_SIGNATURE_METHOD); default sha256.
	VonageSignatureMethod string
	// GCPercent is the garbage collector's target (MFA_GC_PERCENT);
	// default 400: the heap is small, so trading some of it for less GC
	// work pays.
	GCPercent int
	// MemoryLimit is the soft heap limit in bytes at which the collector
	// works harder whatever GCPercent says (MFA_MEMORY_LIMIT_MB, in MiB);
	// default 256.
	MemoryLimit int64
	// DemoClient creates the dev profile's demo client and writes
	// var/dev.env (MFA_DEMO_CLIENT); default true in dev, else false.
	DemoClient bool
}

// StorePath is the bbolt file's path.
func (c *Config) StorePath() string { return filepath.Join(c.DataDir, "mfa.db") }

// DevEnvPath is where the dev profile writes its credentials.
func (c *Config) DevEnvPath() string { return filepath.Join(c.DataDir, "dev.env") }

// Load reads the configuration. It fails listing every missing or
// malformed variable.
func Load(l *envconf.Loader) (Config, error) {
	var c Config
	c.Dev = l.Dev()
	c.DataDir = l.String("MFA_DATA_DIR", pick(c.Dev, "var", "/var/lib/ciam-mfa"))
	l.LoadKeysFile()
	if c.Dev {
		l.LoadDevKeys(c.DataDir)
		if values, err := envconf.ReadFile(filepath.Join(c.DataDir, "dev.env")); err == nil {
			l.Fallback(map[string]string{"MFA_ADMIN_TOKEN": values["MFA_ADMIN_TOKEN"]})
		}
	}

	c.HTTPAddr = l.String("MFA_HTTP_ADDR", pick(c.Dev, "127.0.0.1:8080", ":8080"))
	c.AdminAddr = l.String("MFA_ADMIN_ADDR", "127.0.0.1:8081")
	c.Issuer = l.String("MFA_ISSUER", "")
	c.AdminToken = l.String("MFA_ADMIN_TOKEN", "")
	if c.Dev {
		if c.Issuer == "" {
			c.Issuer = "http://" + c.HTTPAddr
		}
		if c.AdminToken == "" {
			c.AdminToken = newToken()
		}
	} else {
		c.Issuer = l.Required("MFA_ISSUER")
		c.AdminToken = l.Required("MFA_ADMIN_TOKEN")
	}
	c.Audience = l.String("MFA_AUDIENCE", "ciam-mfa")
	c.TokenTTL = l.Duration("MFA_TOKEN_TTL", 15*time.Minute)
	c.NATSURL = l.String("MFA_NATS_URL", "")
	c.NATSListen = l.String("MFA_NATS_LISTEN", "127.0.0.1:4222")
	c.NATSToken = l.String("MFA_NATS_TOKEN", "")
	if l.String("MFA_NATS_SYNC_INTERVAL", "") == "always" {
		c.NATSSyncInterval = -1
	} else {
		c.NATSSyncInterval = l.Duration("MFA_NATS_SYNC_INTERVAL", 0)
	}
	c.StreamReplicas = l.Int("MFA_STREAM_REPLICAS", 1)
	c.HMACKeys = l.Required("MFA_HMAC_KEYS")
	c.DeliveryKeys = l.Required("MFA_DELIVERY_KEYS")
	c.DataKeys = l.Required("MFA_DATA_KEYS")
	c.TemplatesDir = l.String("MFA_TEMPLATES_DIR", "")
	c.LogLevel = l.String("MFA_LOG_LEVEL", "info")
	c.LogFormat = l.String("MFA_LOG_FORMAT", pick(c.Dev, "text", "json"))
	c.MaxBody = int64(l.Int("MFA_MAX_BODY_BYTES", 16<<10))
	c.PublishTimeout = l.Duration("MFA_PUBLISH_TIMEOUT", 3*time.Second)
	c.ShutdownTimeout = l.Duration("MFA_SHUTDOWN_TIMEOUT", 20*time.Second)
	c.MaxCodeLifetime = l.Duration("MFA_MAX_CODE_LIFETIME", 10*time.Minute)
	c.ChallengeRetention = l.Duration("MFA_CHALLENGE_RETENTION", 24*time.Hour)
	c.AuditRetention = l.Duration("MFA_AUDIT_RETENTION", 0)
	c.SweepInterval = l.Duration("MFA_SWEEP_INTERVAL", time.Minute)
	c.BatchSize = l.Int("MFA_BATCH_SIZE", 1000)
	c.TrustedProxies = l.CIDRs("MFA_TRUSTED_PROXIES")
	c.DemoClient = l.Bool("MFA_DEMO_CLIENT", c.Dev)
	c.GCPercent = l.Int("MFA_GC_PERCENT", 400)
	c.MemoryLimit = int64(l.Int("MFA_MEMORY_LIMIT_MB", 256)) << 20
	c.VonageSignatureSecret = l.String("MFA_VONAGE_SIGNATURE_SECRET", "")
	c.VonageSignatureMethod = l.String("MFA_VONAGE_SIGNATURE_METHOD", "sha256")
	if err := errors.Join(l.Err(), c.validate()); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (c *Config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}

	check(len(c.AdminToken) >= 16, "MFA_ADMIN_TOKEN: must be at least 16 characters")
	check(c.TokenTTL >= time.Minute && c.TokenTTL <= 24*time.Hour, "MFA_TOKEN_TTL: must be 1m to 24h")
	check(c.MaxBody >= 1024, "MFA_MAX_BODY_BYTES: must be at least 1024")
	check(c.GCPercent >= 50 && c.GCPercent <= 2000, "MFA_GC_PERCENT: must be 50 to 2000")
	check(c.MemoryLimit >= 64<<20, "MFA_MEMORY_LIMIT_MB: must be at least 64")
	check(c.PublishTimeout > 0, "MFA_PUBLISH_TIMEOUT: must be positive")
	check(c.ChallengeRetention >= 0, "MFA_CHALLENGE_RETENTION: must not be negative")
	check(c.AuditRetention >= 0, "MFA_AUDIT_RETENTION: must not be negative")
	check(c.MaxCodeLifetime >= 30*time.Second && c.MaxCodeLifetime <= 10*time.Minute,
		"MFA_MAX_CODE_LIFETIME: must be 30s to 10m")
	check(c.SweepInterval > 0, "MFA_SWEEP_INTERVAL: must be positive")
	check(c.StreamReplicas >= 1 && c.StreamReplicas <= 5, "MFA_STREAM_REPLICAS: must be 1 to 5")
	check(c.Dev || c.NATSURL != "" || c.NATSToken != "" || loopback(c.NATSListen),
		"MFA_NATS_TOKEN: required when the embedded NATS server listens beyond loopback")
	check(slices.Contains(vonagesig.Methods, c.VonageSignatureMethod),
		"MFA_VONAGE_SIGNATURE_METHOD: must be md5hash, md5, sha1, sha256 or sha512")
	return errors.Join(errs...)
}

// loopback reports whether a listen address is on the loopback interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func pick(dev bool, devValue, prodValue string) string {
	if dev {
		return devValue
	}
	return prodValue
}

func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
