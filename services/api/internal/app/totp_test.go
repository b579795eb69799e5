package app_test

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/apitest"
)

// decodeQR reads the text of a QR code PNG.
func decodeQR(t *testing.T, pngBytes []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatalf("QR code is not a PNG: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	// A clean rendering is read as one: the finder-pattern detector, made
	// for camera frames, misjudges the grid of about one code in twelve.
	pure := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, pure)
	if err != nil {
		t.Fatalf("QR code does not decode: %v", err)
	}
	return res.GetText()
}

// codeAt computes a code independently of the API, with pquerna/otp.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := pqtotp.GenerateCodeCustom(secret, at, pqtotp.ValidateOpts{
		Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// awayFromStepEdge waits until at least 8 seconds remain in the current
// 30-second step, so that a test's codes stay in the steps it means.
func awayFromStepEdge() time.Time {
	for {
		now := time.Now()
		if 30-now.Unix()%30 >= 8 {
			return now
		}
		time.Sleep(time.Second)
	}
}

type enrolled struct {
	ID, Secret, URI string
}

func enroll(t *testing.T, api *apitest.API, tok, user string) enrolled {
	t.Helper()
	r := api.Do(http.MethodPost, "/v1/totp/enrollments", tok, map[string]string{"userName": user, "issuer": "Acme"})
	if r.Status != http.StatusCreated {
		t.Fatalf("enroll = %d %s", r.Status, r.Body)
	}
	return enrolled{ID: r.JSON["enrollmentId"].(string), Secret: r.JSON["secret"].(string),
		URI: r.JSON["otpauthUri"].(string)}
}

func TestTOTP_EnrollAndValidate(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	r := api.Do(http.MethodPost, "/v1/totp/enrollments", tok, map[string]string{"userName": "jdoe", "issuer": "Acme"})
	if r.Status != http.StatusCreated {
		t.Fatalf("enroll = %d %s", r.Status, r.Body)
	}
	id, secret, uri := r.JSON["enrollmentId"].(string), r.JSON["secret"].(string), r.JSON["otpauthUri"].(string)

	raw, _ := base64.StdEncoding.DecodeString(r.JSON["qrCodePng"].(string))
	if got := decodeQR(t, raw); got != uri {
		t.Errorf("QR code holds %q, want the URI %q", got, uri)
	}
	served := api.Do(http.MethodGet, "/v1/totp/enrollments/"+id+"/qr.png", tok, nil)
	if served.Status != 200 || decodeQR(t, served.Body) != uri {
		t.Errorf("qr.png = %d, not the same URI", served.Status)
	}
	u, _ := url.Parse(uri)
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || q.Get("issuer") != "Acme" || q.Get("algorithm") != "SHA1" ||
		q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("secret") != secret || !strings.Contains(u.Path, "jdoe") {
		t.Errorf("otpauth URI = %s", uri)
	}
	if key, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret); len(key) < 20 {
		t.Errorf("secret has %d bytes, want at least 20", len(key))
	}
	if g := api.Do(http.MethodGet, "/v1/totp/enrollments/"+id, tok, nil); g.JSON["state"] != "PENDING" ||
		strings.Contains(string(g.Body), secret) {
		t.Errorf("GET enrollment = %s; want PENDING without the secret", g.Body)
	}

	now := awayFromStepEdge()
	previous := codeAt(t, secret, now.Add(-30*time.Second))
	a := api.Do(http.MethodPost, "/v1/totp/enrollments/"+id+"/activate", tok, map[string]string{"otp": previous})
	if a.Status != 200 {
		t.Fatalf("activate with the previous step's code (none newer used) = %d %s", a.Status, a.Body)
	}
	if q := api.Do(http.MethodGet, "/v1/totp/enrollments/"+id+"/qr.png", tok, nil); q.Status != 404 ||
		!strings.Contains(q.JSON["message"].(string), "only while the enrollment is pending") {
		t.Errorf("qr.png after activation = %d %s, want 404 saying why", q.Status, q.Body)
	}

	current := codeAt(t, secret, now)
	first := create(t, api, tok, map[string]string{"userName": "jdoe", "deviceType": "TOTP"})
	if v := validate(api, tok, first, current); v.Status != 200 {
		t.Fatalf("validate current code = %d %s", v.Status, v.Body)
	}
	second := create(t, api, tok, map[string]string{"userName": "jdoe", "deviceType": "TOTP"})
	if v := validate(api, tok, second, current); v.Code() != "OTP_INVALID" {
		t.Errorf("the same code on a new challenge = %d %s, want OTP_INVALID (replay)", v.Status, v.Body)
	}
	if v := validate(api, tok, second, previous); v.Code() != "OTP_INVALID" {
		t.Errorf("an older step after a newer one = %s, want OTP_INVALID", v.Body)
	}
	if v := validate(api, tok, second, codeAt(t, secret, now.Add(-60*time.Second))); v.Code() != "OTP_INVALID" {
		t.Errorf("a code two steps old = %s, want OTP_INVALID", v.Body)
	}
	if v := validate(api, tok, second, codeAt(t, secret, now.Add(30*time.Second))); v.Status != 200 {
		t.Errorf("the next step's code = %d %s, want accepted", v.Status, v.Body)
	}
}

func TestTOTP_OneActiveEnrollment(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	e := enroll(t, api, tok, "jdoe")
	awayFromStepEdge()
	activate := api.Do(http.MethodPost, "/v1/totp/enrollments/"+e.ID+"/activate", tok,
		map[string]string{"otp": codeAt(t, e.Secret, time.Now())})
	if activate.Status != 200 {
		t.Fatalf("activate = %d %s", activate.Status, activate.Body)
	}
	if r := api.Do(http.MethodPost, "/v1/totp/enrollments", tok, map[string]string{"userName": "jdoe"}); r.Status != 409 ||
		r.Code() != "ENROLLMENT_EXISTS" {
		t.Errorf("second enrollment = %d %s, want 409 ENROLLMENT_EXISTS", r.Status, r.Body)
	}
	if r := api.Do(http.MethodDelete, "/v1/totp/enrollments/"+e.ID, tok, nil); r.Status != 204 {
		t.Fatalf("delete = %d %s", r.Status, r.Body)
	}
	ch := create(t, api, tok, map[string]string{"userName": "jdoe", "deviceType": "TOTP"})
	if v := validate(api, tok, ch, codeAt(t, e.Secret, time.Now().Add(30*time.Second))); v.Code() != "OTP_INVALID" {
		t.Errorf("a code of the deleted enrollment = %s, want OTP_INVALID", v.Body)
	}
	if r := api.Do(http.MethodPost, "/v1/totp/enrollments", tok, map[string]string{"userName": "jdoe"}); r.Status != 201 {
		t.Errorf("enroll after delete = %d %s", r.Status, r.Body)
	}
	other, otherSecret := api.CreateClient(nil)
	otherTok := api.Token(other, otherSecret, "")
	if r := api.Do(http.MethodGet, "/v1/totp/enrollments/"+e.ID, otherTok, nil); r.Status != 404 {
		t.Errorf("another client's enrollment = %d, want 404", r.Status)
	}
}

func TestTOTP_ParallelValidationsOfOneCode(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	e := enroll(t, api, tok, "jdoe")
	now := awayFromStepEdge()
	api.Do(http.MethodPost, "/v1/totp/enrollments/"+e.ID+"/activate", tok,
		map[string]string{"otp": codeAt(t, e.Secret, now.Add(-30*time.Second))})
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = create(t, api, tok, map[string]string{"userName": "jdoe", "deviceType": "TOTP"})
	}
	code := codeAt(t, e.Secret, now)
	counts := parallel(20, func(i int) string {
		if r := validate(api, tok, ids[i], code); r.Status == 200 {
			return "SUCCESS"
		} else {
			return r.Code()
		}
	})
	if counts["SUCCESS"] != 1 || counts["OTP_INVALID"]+counts["RATE_LIMITED"] != 19 {
		t.Errorf("answers = %v; want one SUCCESS and the rest refused (OTP_INVALID, or RATE_LIMITED "+
			"once the user's failure budget runs out)", counts)
	}
}

func TestTOTP_UnenrolledLooksTheSame(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	e := enroll(t, api, tok, "enrolled")
	awayFromStepEdge()
	api.Do(http.MethodPost, "/v1/totp/enrollments/"+e.ID+"/activate", tok,
		map[string]string{"otp": codeAt(t, e.Secret, time.Now())})

	a := api.Do(http.MethodPost, "/v1/otp", tok, map[string]string{"userName": "enrolled", "deviceType": "TOTP"})
	b := api.Do(http.MethodPost, "/v1/otp", tok, map[string]string{"userName": "stranger", "deviceType": "TOTP"})
	if a.Status != b.Status || a.JSON["message"] != b.JSON["message"] {
		t.Errorf("request answers differ: %s vs %s", a.Body, b.Body)
	}
	va := validate(api, tok, a.JSON["authId"].(string), "000000")
	vb := validate(api, tok, b.JSON["authId"].(string), "000000")
	if string(va.Body) != string(vb.Body) {
		t.Errorf("validate answers differ: %s vs %s", va.Body, vb.Body)
	}
}

// TestTOTP_Oathtool checks a code from an independent implementation, the
// oathtool command, which .ci/run installs.
func TestTOTP_Oathtool(t *testing.T) {
	path, err := exec.LookPath("oathtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("oathtool is not installed; .ci/run installs it")
		}
		t.Skip("oathtool not installed (apt-get install oathtool); CI runs this test")
	}
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	e := enroll(t, api, tok, "jdoe")
	awayFromStepEdge()
	out, err := exec.Command(path, "--totp", "--base32", e.Secret).Output()
	if err != nil {
		t.Fatal(err)
	}
	code := strings.TrimSpace(string(out))
	activate := map[string]string{"otp": code}
	if r := api.Do(http.MethodPost, "/v1/totp/enrollments/"+e.ID+"/activate", tok, activate); r.Status != 200 {
		t.Fatalf("activate with oathtool's code %s = %d %s", code, r.Status, r.Body)
	}
}

func TestTOTP_ClientPolicy(t *testing.T) {
	api := apitest.Start(t, nil)
	id, secret := api.CreateClient(map[string]any{"totp": map[string]any{
		"algorithm": "SHA256", "digits": 8, "period": 60}})
	tok := api.Token(id, secret, "")
	e := enroll(t, api, tok, "jdoe")
	u, _ := url.Parse(e.URI)
	if q := u.Query(); q.Get("algorithm") != "SHA256" || q.Get("digits") != "8" || q.Get("period") != "60" {
		t.Fatalf("URI = %s, want SHA256, 8 digits, 60 s", e.URI)
	}
	code, err := pqtotp.GenerateCodeCustom(e.Secret, time.Now(), pqtotp.ValidateOpts{
		Period: 60, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA256})
	if err != nil {
		t.Fatal(err)
	}
	activate := map[string]string{"otp": code}
	if r := api.Do(http.MethodPost, "/v1/totp/enrollments/"+e.ID+"/activate", tok, activate); r.Status != 200 {
		t.Errorf("activate with an 8-digit SHA256 code = %d %s", r.Status, r.Body)
	}
	if status, out := api.AdminDo(http.MethodPost, "/admin/v1/clients", map[string]any{"name": "x",
		"deviceTypes": []string{"TOTP"}, "totp": map[string]any{"algorithm": "MD5"}}); status != 400 {
		t.Errorf("client with MD5 = %d %v, want 400", status, out)
	}
}
