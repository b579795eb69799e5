// Package vonagesig checks the signature Vonage puts on signed webhooks
// (delivery receipts and inbound messages).
//
// The signed string is every parameter but sig, sorted by name, each as
// "&name=value" with any "&" or "=" in the value replaced by "_". With the
// md5hash method the signature is the lowercase MD5 of that string followed
// by the secret; with the HMAC methods it is the uppercase hex HMAC of the
// string keyed by the secret. A timestamp parameter must be within five
// minutes of now, so a captured receipt cannot be replayed later.
package vonagesig

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Errors returned by Verify.
var (
	ErrMissing  = errors.New("vonagesig: no signature")
	ErrMismatch = errors.New("vonagesig: signature does not match")
	ErrStale    = errors.New("vonagesig: timestamp missing or too far from now")
	ErrMethod   = errors.New("vonagesig: unknown signature method")
)

// MaxSkew is how far a signed timestamp may be from now.
const MaxSkew = 5 * time.Minute

// Methods lists the signature methods Vonage offers.
var Methods = []string{"md5hash", "md5", "sha1", "sha256", "sha512"}

// Sign returns the signature of params under secret with method.
func Sign(params map[string]string, secret, method string) (string, error) {
	base := canonical(params)
	if method == "md5hash" {
		sum := md5.Sum([]byte(base + secret))
		return hex.EncodeToString(sum[:]), nil
	}

	var h func() hash.Hash
	switch method {
	case "md5":
		h = md5.New
	case "sha1":
		h = sha1.New
	case "sha256":
		h = sha256.New
	case "sha512":
		h = sha512.New
	default:
		return "", fmt.Errorf("%w %q", ErrMethod, method)
	}
	mac := hmac.New(h, []byte(secret))
	mac.Write([]byte(base))

	return strings.ToUpper(hex.EncodeToString(mac.Sum(nil))), nil
}

func canonical(params map[string]string) string {
	names := make([]string, 0, len(params))
	for k := range params {
		if k != "sig" {
			names = append(names, k)
		}
	}

	sort.Strings(names)
	clean := strings.NewReplacer("&", "_", "=", "_")
	var b strings.Builder
	for _, k := range names {
		b.WriteString("&" + k + "=" + clean.Replace(params[k]))
	}
	return b.String()
}

// Verify checks params["sig"] and params["timestamp"]. It fails with
// ErrMissing, ErrStale, ErrMismatch or ErrMethod.
func Verify(params map[string]string, secret, method string, now time.Time) error {
	sig := params["sig"]
	if sig == "" {
		return ErrMissing
	}
	ts, err := strconv.ParseInt(params["timestamp"], 10, 64)
	if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > MaxSkew {
		return ErrStale
	}
	want, err := Sign(params, secret, method)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(want)), []byte(strings.ToLower(sig))) != 1 {
		return ErrMismatch
	}
	return nil
}
