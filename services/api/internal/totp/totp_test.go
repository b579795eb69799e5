package totp

import (
	"bytes"
	"crypto/rand"
	"image/png"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// TestRFC6238Vectors runs the test vectors of RFC 6238 Appendix B through
// the verification code with an injected clock.
func TestRFC6238Vectors(t *testing.T) {
	seeds := map[string][]byte{
		"SHA1":   []byte("12345678901234567890"),
		"SHA256": []byte("12345678901234567890123456789012"),
		"SHA512": []byte("1234567890123456789012345678901234567890123456789012345678901234"),
	}
	tests := []struct {
		unix int64
		alg  string
		code string
	}{
		{59, "SHA1", "94287082"}, {59, "SHA256", "46119246"}, {59, "SHA512", "90693936"},
		{1111111109, "SHA1", "07081804"}, {1111111109, "SHA256", "68084774"}, {1111111109, "SHA512", "25091201"},
		{1111111111, "SHA1", "14050471"}, {1111111111, "SHA256", "67062674"}, {1111111111, "SHA512", "99943326"},
		{1234567890, "SHA1", "89005924"}, {1234567890, "SHA256", "91819424"}, {1234567890, "SHA512", "93441116"},
		{2000000000, "SHA1", "69279037"}, {2000000000, "SHA256", "90698825"}, {2000000000, "SHA512", "38618901"},
		{20000000000, "SHA1", "65353130"}, {20000000000, "SHA256", "77737706"}, {20000000000, "SHA512", "47863826"},
	}
	for _, tt := range tests {
		t.Run(tt.alg+"/"+time.Unix(tt.unix, 0).UTC().Format(time.RFC3339), func(t *testing.T) {
			p := Params{Algorithm: tt.alg, Digits: 8, Period: 30}
			now := time.Unix(tt.unix, 0)
			got, err := Code(seeds[tt.alg], Step(now, p), p)
			if err != nil || got != tt.code {
				t.Fatalf("Code = %q, %v; want %q", got, err, tt.code)
			}
			step, ok := Match(seeds[tt.alg], tt.code, now, p, 0)
			if !ok || step != Step(now, p) {
				t.Fatalf("Match = %d, %v; want step %d", step, ok, Step(now, p))
			}
			if _, ok := Match(seeds[tt.alg], tt.code, now, p, step); ok {
				t.Error("the same step matched again after it was recorded")
			}
		})
	}
}

func TestMatch_Window(t *testing.T) {
	p := Defaults
	secret := NewSecret(p)
	now := time.Unix(1_800_000_015, 0)
	cur := Step(now, p)
	code := func(step int64) string {
		c, err := Code(secret, step, p)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name string
		step int64
		last int64
		want bool
	}{
		{"current", cur, 0, true},
		{"previous", cur - 1, 0, true},
		{"next", cur + 1, 0, true},
		{"two old", cur - 2, 0, false},
		{"two ahead", cur + 2, 0, false},
		{"replayed", cur, cur, false},
		{"older than last accepted", cur - 1, cur, false},
		{"newer than last accepted", cur + 1, cur, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, ok := Match(secret, code(tt.step), now, p, tt.last)
			if ok != tt.want || (ok && step != tt.step) {
				t.Errorf("Match = %d, %v; want %v at step %d", step, ok, tt.want, tt.step)
			}
		})
	}
}

func TestParams_Validate(t *testing.T) {
	for _, bad := range []Params{{Algorithm: "MD5"}, {Digits: 7}, {Period: 5}, {Period: 600}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v validated", bad)
		}
	}
	if n := len(NewSecret(Params{Algorithm: "SHA512"})); n != 64 {
		t.Errorf("SHA512 secret is %d bytes, want 64", n)
	}
	if n := len(NewSecret(Defaults)); n < 20 {
		t.Errorf("default secret is %d bytes, want at least 20 (160 bits)", n)
	}
}

func TestURI_EscapesValues(t *testing.T) {
	uri, err := URI("Acme&secret=JBSWY3DPEHPK3PXP&period=60", "j@doe+1", []byte("12345678901234567890"), Defaults)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if len(q["secret"]) != 1 || len(q["period"]) != 1 || q.Get("period") != "30" ||
		q.Get("issuer") != "Acme&secret=JBSWY3DPEHPK3PXP&period=60" {
		t.Errorf("URI %s lets the issuer add parameters: %v", uri, q)
	}
	if _, err := QRPNG(uri, 200); err != nil {
		t.Errorf("QR of the escaped URI: %v", err)
	}
}

func TestQRPNG_HoldsTheURI(t *testing.T) {
	failed := 0
	for i := range 300 {
		secret := make([]byte, 20)
		_, _ = rand.Read(secret)
		uri, err := URI("Acme Corp", "user-"+strconv.Itoa(i)+"@example.com", secret, Defaults)
		if err != nil {
			t.Fatal(err)
		}
		pic, err := QRPNG(uri, 256)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := scan(pic); err != nil || got != uri {
			failed++
			if failed <= 3 {
				t.Errorf("QR of %s scans as %q, %v", uri, got, err)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of 300 QR codes did not scan", failed)
	}
}

// scan reads the QR code in a PNG. The image is a clean rendering, so it is
// read as one (PURE_BARCODE): the decoder's finder-pattern detector, made
// for camera frames, misjudges the grid of about one code in twelve of
// these, where a camera scanner simply tries the next frame.
func scan(pngBytes []byte) (string, error) {
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		return "", err
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	pure := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, pure)
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

func TestIssuerOf_ClientName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"Acme", "Acme"},
		{"Evil:Bank", "Evil Bank"},
		{strings.Repeat("é", 70), strings.Repeat("é", 64)},
		{strings.Repeat("a", 63) + " b", strings.Repeat("a", 63)},
		{"Acme:", "Acme"},
		{"Ac\u200bme", "Acme"},
	}
	for _, tt := range tests {
		got := issuerOf(tt.name)
		if got != tt.want {
			t.Errorf("issuerOf(%q) = %q, want %q", tt.name, got, tt.want)
		}
		if !ValidIssuer(got) {
			t.Errorf("issuerOf(%q) = %q, which ValidIssuer refuses", tt.name, got)
		}
	}
}
