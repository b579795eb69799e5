// Package totp enrolls authenticator apps (RFC 6238) and checks their
// codes.
//
// A code is accepted for the current 30-second step or one step either
// side, and only for a step later than the last one accepted for the
// enrollment, so no code works twice and no older code works after a newer
// one. The three candidate codes are always all computed and compared in
// constant time, and a user without an enrollment is checked against a
// throwaway secret, so timing tells nothing.
package totp

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Errors returned by this package.
var (
	// ErrParams is returned for an algorithm, digit count or period that
	// is not supported.
	ErrParams = errors.New("totp: unsupported parameters")
)

// Params are an enrollment's code parameters.
type Params struct {
	// Algorithm is SHA1, SHA256 or SHA512; default SHA1.
	Algorithm string
	// Digits is 6 or 8; default 6.
	Digits int
	// Period is the step length in seconds, 15 to 120; default 30.
	Period int
}

// Defaults are what every authenticator app supports.
var Defaults = Params{Algorithm: "SHA1", Digits: 6, Period: 30}

// WithDefaults fills zero fields from Defaults.
func (p Params) WithDefaults() Params {
	if p.Algorithm == "" {
		p.Algorithm = Defaults.Algorithm
	}
	if p.Digits == 0 {
		p.Digits = Defaults.Digits
	}
	if p.Period == 0 {
		p.Period = Defaults.Period
	}
	return p
}

// Validate reports unsupported parameters with ErrParams.
func (p Params) Validate() error {
	p = p.WithDefaults()
	if _, err := p.algorithm(); err != nil {
		return err
	}
	if p.Digits != 6 && p.Digits != 8 {
		return fmt.Errorf("%w: digits must be 6 or 8", ErrParams)
	}
	if p.Period < 15 || p.Period > 120 {
		return fmt.Errorf("%w: period must be 15 to 120 seconds", ErrParams)
	}
	return nil
}

func (p Params) algorithm() (otp.Algorithm, error) {
	switch strings.ToUpper(p.Algorithm) {
	case "SHA1":
		return otp.AlgorithmSHA1, nil
	case "SHA256":
		return otp.AlgorithmSHA256, nil
	case "SHA512":
		return otp.AlgorithmSHA512, nil
	default:
		return 0, fmt.Errorf("%w: algorithm must be SHA1, SHA256 or SHA512", ErrParams)
	}
}

func (p Params) opts() (totp.ValidateOpts, error) {
	alg, err := p.algorithm()
	if err != nil {
		return totp.ValidateOpts{}, err
	}
	digits := otp.DigitsSix
	if p.Digits == 8 {
		digits = otp.DigitsEight
	}
	return totp.ValidateOpts{Period: uint(p.Period), Digits: digits, Algorithm: alg}, nil
}

// secretSize is the key length RFC 6238 uses with each algorithm: the
// hash's output size, at least 160 bits.
func (p Params) secretSize() int {
	switch strings.ToUpper(p.Algorithm) {
	case "SHA256":
		return 32
	case "SHA512":
		return 64
	default:
		return 20
	}
}

// NewSecret returns a new random secret for p.
func NewSecret(p Params) []byte {
	b := make([]byte, p.WithDefaults().secretSize())
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// EncodeSecret returns the base32 form apps accept.
func EncodeSecret(secret []byte) string { return b32.EncodeToString(secret) }

// URI returns the otpauth:// URI of an enrollment, with issuer, account,
// algorithm, digits and period. Every value is escaped, so that no issuer
// or account can add a parameter (pquerna/otp's own builder leaves "&"
// and "=" in values).
func URI(issuer, account string, secret []byte, p Params) (string, error) {
	p = p.WithDefaults()
	if _, err := p.opts(); err != nil {
		return "", err
	}
	query := "secret=" + EncodeSecret(secret) +
		"&issuer=" + queryEscape(issuer) +
		"&algorithm=" + strings.ToUpper(p.Algorithm) +
		"&digits=" + strconv.Itoa(p.Digits) +
		"&period=" + strconv.Itoa(p.Period)
	return "otpauth://totp/" + url.PathEscape(issuer) + ":" + url.PathEscape(account) + "?" + query, nil
}

// queryEscape escapes a query value, spaces as %20 as authenticator apps
// expect.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// QRPNG renders uri as a QR code PNG of size pixels square, inside the
// white quiet zone that scanners need.
func QRPNG(uri string, size int) ([]byte, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return nil, fmt.Errorf("parsing otpauth uri: %w", err)
	}
	margin := size / 10
	code, err := key.Image(size-2*margin, size-2*margin)
	if err != nil {
		return nil, fmt.Errorf("rendering qr code: %w", err)
	}
	img := image.NewGray(image.Rect(0, 0, size, size))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(img, code.Bounds().Add(image.Pt(margin, margin)), code, code.Bounds().Min, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encoding png: %w", err)
	}
	return buf.Bytes(), nil
}

// Step returns the time step of t.
func Step(t time.Time, p Params) int64 {
	return t.Unix() / int64(p.WithDefaults().Period)
}

// Code returns the code of secret for step.
func Code(secret []byte, step int64, p Params) (string, error) {
	p = p.WithDefaults()
	opts, err := p.opts()
	if err != nil {
		return "", err
	}
	return totp.GenerateCodeCustom(EncodeSecret(secret), time.Unix(step*int64(p.Period), 0), opts)
}

// Match checks code against the steps around now and returns the latest
// matching step that is after lastStep. It always computes and compares
// all three candidates.
func Match(secret []byte, code string, now time.Time, p Params, lastStep int64) (int64, bool) {
	cur := Step(now, p)
	matched, found := int64(0), 0
	for step := cur - 1; step <= cur+1; step++ {
		want, err := Code(secret, step, p)
		if err != nil {
			return 0, false
		}
		eq := subtle.ConstantTimeCompare([]byte(want), []byte(code))
		fresh := subtle.ConstantTimeLessOrEq(int(lastStep+1), int(step))
		if eq&fresh == 1 {
			matched, found = step, 1
		}
	}

	return matched, found == 1
}
