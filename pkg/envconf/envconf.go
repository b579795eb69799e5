// Package envconf reads MFA_* configuration from the environment, with an
// optional key file and the development profile's generated keys behind it.
//
// A Loader collects every problem instead of stopping at the first, so a
// binary that fails to start names all the variables it is missing at once.
package envconf

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
)

// ProfileDev is the value of MFA_PROFILE that turns on development defaults:
// generated keys, loopback addresses and relaxed credentials.
const ProfileDev = "dev"

// ErrMissing is wrapped by Loader.Err for every required variable that was
// not set.
var ErrMissing = errors.New("required variable is not set")

// Loader looks variables up in the environment first, then in fallback
// values (a key file or generated development keys). A Loader is not safe
// for concurrent use.
type Loader struct {
	lookup   func(string) (string, bool)
	fallback map[string]string
	errs     []error
}

// New returns a Loader over lookup, typically os.LookupEnv.
func New(lookup func(string) (string, bool)) *Loader {
	return &Loader{lookup: lookup, fallback: map[string]string{}}
}

// FromEnviron returns a Loader over the process environment.
func FromEnviron() *Loader { return New(os.LookupEnv) }

// Dev reports whether MFA_PROFILE selects the development profile.
func (l *Loader) Dev() bool { return l.String("MFA_PROFILE", "") == ProfileDev }

// Fallback adds values consulted when the environment lacks a variable.
// Values already added take precedence over later ones.
func (l *Loader) Fallback(values map[string]string) {
	for k, v := range values {
		if _, ok := l.fallback[k]; !ok {
			l.fallback[k] = v
		}
	}
}

func (l *Loader) get(name string) (string, bool) {
	if v, ok := l.lookup(name); ok && v != "" {
		return v, true
	}
	v, ok := l.fallback[name]
	return v, ok && v != ""
}

// String returns the variable's value, or def when it is unset or empty.
func (l *Loader) String(name, def string) string {
	if v, ok := l.get(name); ok {
		return v
	}
	return def
}

// Required returns the variable's value and records an error wrapping
// ErrMissing when it is unset.
func (l *Loader) Required(name string) string {
	v, ok := l.get(name)
	if !ok {
		l.errs = append(l.errs, fmt.Errorf("%s: %w", name, ErrMissing))
	}
	return v
}

// Int returns the variable as an integer, or def; a malformed value is
// recorded as an error.
func (l *Loader) Int(name string, def int) int {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %q is not an integer", name, v))
		return def
	}

	return n
}

// Duration returns the variable as a Go duration ("250ms", "5m"), or def; a
// malformed value is recorded as an error.
func (l *Loader) Duration(name string, def time.Duration) time.Duration {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %q is not a duration", name, v))
		return def
	}

	return d
}

// Durations returns a comma-separated list of durations, or def.
func (l *Loader) Durations(name string, def []time.Duration) []time.Duration {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	var out []time.Duration
	for _, part := range strings.Split(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			l.errs = append(l.errs, fmt.Errorf("%s: %q is not a duration", name, part))
			return def
		}

		out = append(out, d)
	}

	return out
}

// Bool returns the variable as a boolean ("true", "1", "false", "0"), or def.
func (l *Loader) Bool(name string, def bool) bool {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %q is not a boolean", name, v))
		return def
	}

	return b
}

// List returns a comma-separated list with blanks dropped, or def.
func (l *Loader) List(name string, def []string) []string {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	var out []string
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}

	return out
}

// CIDRs returns a comma-separated list of CIDR prefixes, or nil.
func (l *Loader) CIDRs(name string) []*net.IPNet {
	var out []*net.IPNet
	for _, s := range l.List(name, nil) {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			l.errs = append(l.errs, fmt.Errorf("%s: %q is not a CIDR", name, s))
			continue
		}

		out = append(out, n)
	}

	return out
}

// Check records err, if not nil, as a problem with the variable name.
func (l *Loader) Check(name string, err error) {
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %w", name, err))
	}
}

// Err returns every problem recorded so far, joined, or nil.
func (l *Loader) Err() error { return errors.Join(l.errs...) }

// ReadFile reads a file of NAME=value lines (blank lines and lines starting
// with "#" are skipped), as written for MFA_KEYS_FILE and var/dev.env.
func ReadFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: line %q is not NAME=value", path, line)
		}
		out[strings.TrimSpace(name)] = strings.Trim(strings.TrimSpace(value), `"'`)
	}

	return out, sc.Err()
}

// LoadKeysFile adds the values of MFA_KEYS_FILE, when it is set, as
// fallbacks; an unreadable file is recorded as an error.
func (l *Loader) LoadKeysFile() {
	path := l.String("MFA_KEYS_FILE", "")
	if path == "" {
		return
	}
	values, err := ReadFile(path)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("MFA_KEYS_FILE: %w", err))
		return
	}

	l.Fallback(values)
}

// DevKeyNames are the keys that the development profile generates.
var DevKeyNames = []string{"MFA_HMAC_KEYS", "MFA_DELIVERY_KEYS", "MFA_DATA_KEYS"}

// DevKeys returns the development profile's keys, generating them into
// dir/keys.env (mode 0600) on first use so that every binary started with the
// same data directory shares them.
func DevKeys(dir string) (map[string]string, error) {
	path := filepath.Join(dir, "keys.env")
	if values, err := ReadFile(path); err == nil {
		return values, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	var b strings.Builder
	b.WriteString("# development keys, generated; never use them in production\n")
	values := map[string]string{}
	for _, name := range DevKeyNames {
		values[name] = keyring.Generate("dev1", 32)
		fmt.Fprintf(&b, "%s=%s\n", name, values[name])
	}

	// O_EXCL: when two binaries start together, one writes and the other
	// reads what it wrote.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		time.Sleep(50 * time.Millisecond)
		return ReadFile(path)
	}

	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return values, f.Close()
}

// LoadDevKeys adds the development keys under dir as fallbacks when the
// development profile is on; a failure is recorded as an error.
func (l *Loader) LoadDevKeys(dir string) {
	if !l.Dev() {
		return
	}
	values, err := DevKeys(dir)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("development keys: %w", err))
		return
	}

	l.Fallback(values)
}
