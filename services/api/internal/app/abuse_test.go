package app_test

import (
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/apitest"
)

func TestAbuse_FailureBudgetAcrossChallenges(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	body := emailBody("victim", "victim@example.com")
	held := create(t, api, tok, body) // the real user's pending challenge
	heldCode := api.Code(held)

	compared, stopped := 0, false
	for round := 0; round < 10 && !stopped; round++ {
		r := api.Do(http.MethodPost, "/v1/otp", tok, body)
		if r.Status == http.StatusTooManyRequests {
			stopped = true
			break
		}
		id := r.JSON["authId"].(string)
		code := api.Code(id)
		for i := 0; i < 5; i++ {
			v := validate(api, tok, id, wrongFor(code))
			if v.Status == http.StatusTooManyRequests {
				stopped = true
				break
			}
			if v.Code() == "OTP_INVALID" {
				compared++
			}
		}
	}
	if !stopped || compared > 10 {
		t.Fatalf("stopped %v after %d compared wrong codes; want the budget to stop it within 10", stopped, compared)
	}
	r := api.Do(http.MethodPost, "/v1/otp", tok, body)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("a new challenge for the attacked user = %d %s; want 429 with Retry-After", r.Status, r.Body)
	}
	if v := validate(api, tok, held, heldCode); v.Status != http.StatusTooManyRequests {
		t.Errorf("the right code on another challenge while the budget is spent = %d %s; want 429", v.Status, v.Body)
	}
	if r := api.Do(http.MethodPost, "/v1/otp", tok, emailBody("bystander", "other@example.com")); r.Status != 201 {
		t.Errorf("another user was refused: %d %s", r.Status, r.Body)
	}
}

func TestAbuse_HardStopUntilCleared(t *testing.T) {
	api := apitest.Start(t, nil)
	id, secret := api.CreateClient(map[string]any{"limits": map[string]any{
		"failures": map[string]int{"max": 1000, "windowSeconds": 3600, "hardStop": 3}}})
	tok := api.Token(id, secret, "")
	body := emailBody("jdoe", "jdoe@example.com")
	authID := create(t, api, tok, body)
	code := api.Code(authID)
	for i := 0; i < 3; i++ {
		validate(api, tok, authID, wrongFor(code))
	}
	sent := api.StreamMessages()
	if r := api.Do(http.MethodPost, "/v1/otp", tok, body); r.Status != 429 {
		t.Fatalf("after the hard stop a request = %d, want 429", r.Status)
	}
	if n := api.StreamMessages(); n != sent {
		t.Errorf("the refused request published %d deliveries, want none", n-sent)
	}
	status, out := api.AdminDo(http.MethodPost, "/admin/v1/limits/clear", map[string]string{
		"clientId": id, "userName": "jdoe", "email": "JDoe@example.com"})
	if status != 200 || out["cleared"].(float64) == 0 {
		t.Fatalf("limits clear = %d %v", status, out)
	}
	if r := api.Do(http.MethodPost, "/v1/otp", tok, body); r.Status != 201 {
		t.Errorf("after clearing, a request = %d %s", r.Status, r.Body)
	}
}

func TestAbuse_DestinationVariantsShareABucket(t *testing.T) {
	api := apitest.Start(t, nil)
	id, secret := api.CreateClient(map[string]any{
		"limits":       map[string]any{"destination": map[string]int{"max": 3, "windowSeconds": 3600}},
		"destinations": map[string]any{"defaultRegion": "GB"},
	})
	tok := api.Token(id, secret, "")
	tests := []struct {
		name     string
		field    string
		variants []string
	}{
		{"email", "email", []string{"Jon.Doe@Example.com", "  jon.doe+bank@example.com ", "JON.DOE@EXAMPLE.COM",
			"jon.doe+x@example.com"}},
		{"phone", "phoneNumber", []string{"+44 7400 123456", "+44-7400-123456", "07400 123456", "+447400123456"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, v := range tt.variants {
				device := "EMAIL"
				if tt.field == "phoneNumber" {
					device = "SMS"
				}
				r := api.Do(http.MethodPost, "/v1/otp", tok, map[string]any{
					"userName": fmt.Sprintf("%s%d", tt.name, i), "deviceType": device, tt.field: v})
				want := 201
				if i == 3 {
					want = 429
				}
				if r.Status != want {
					t.Fatalf("variant %d %q = %d %s; want %d", i, v, r.Status, r.Body, want)
				}
			}
		})
	}
}

func TestAbuse_LookAlikeEmails(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	const cyrillic = "j\u043en@example.com" // "jоn" with a Cyrillic о
	if r := api.Do(http.MethodPost, "/v1/otp", tok, emailBody("a", cyrillic)); r.Code() != "INVALID_EMAIL" {
		t.Fatalf("look-alike address by default = %d %s; want INVALID_EMAIL", r.Status, r.Body)
	}
	id, secret := api.CreateClient(map[string]any{
		"limits":       map[string]any{"destination": map[string]int{"max": 1, "windowSeconds": 3600}},
		"destinations": map[string]any{"allowUnicodeEmail": true},
	})
	tok = api.Token(id, secret, "")
	ascii := create(t, api, tok, emailBody("a", "jon@example.com"))
	for i, lookalike := range []string{cyrillic, "\uff4a\uff4f\uff4e@example.com"} { // and fullwidth ｊｏｎ
		r := api.Do(http.MethodPost, "/v1/otp", tok, emailBody(fmt.Sprintf("b%d", i), lookalike))
		if r.Status != 201 {
			t.Fatalf("%q shares the ASCII address's bucket or was refused: %d %s", lookalike, r.Status, r.Body)
		}
		for _, d := range api.Deliveries() {
			if d.Delivery.AuthID == r.JSON["authId"] && d.Secret.Destination != lookalike {
				t.Errorf("mail for %q goes to %q", lookalike, d.Secret.Destination)
			}
			if d.Delivery.AuthID == ascii && d.Secret.Destination != "jon@example.com" {
				t.Errorf("mail for the ASCII address goes to %q", d.Secret.Destination)
			}
		}
	}
}

func TestAbuse_SpoofedForwardedFor(t *testing.T) {
	attempt := func(api *apitest.API, xff string) int {
		form := url.Values{"grant_type": {"client_credentials"}}
		req, _ := http.NewRequest(http.MethodPost, api.Base+"/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", xff)
		req.SetBasicAuth(api.ClientID, "guess")
		return api.Send(req).Status
	}
	t.Run("no trusted proxy: one bucket", func(t *testing.T) {
		api := apitest.Start(t, nil)
		limited := 0
		for i := 0; i < 40; i++ {
			if attempt(api, fmt.Sprintf("203.0.113.%d", i)) == http.StatusTooManyRequests {
				limited++
			}
		}
		if limited == 0 {
			t.Fatal("40 failed logins with 40 spoofed X-Forwarded-For values were never limited")
		}
	})
	t.Run("trusted proxy: one bucket per client address", func(t *testing.T) {
		api := apitest.Start(t, map[string]string{"MFA_TRUSTED_PROXIES": "127.0.0.1/32"})
		for i := 0; i < 40; i++ {
			if attempt(api, fmt.Sprintf("203.0.113.%d", i)) == http.StatusTooManyRequests {
				t.Fatalf("attempt %d from its own forwarded address was limited", i)
			}
		}
	})
}

func TestAbuse_SMSPumpingGuard(t *testing.T) {
	api := apitest.Start(t, nil)
	id, secret := api.CreateClient(map[string]any{"limits": map[string]any{
		"smsPrefix": map[string]int{"max": 5, "windowSeconds": 3600}}})
	tok := api.Token(id, secret, "")
	refused := 0
	for i := 0; i < 20; i++ {
		r := api.Do(http.MethodPost, "/v1/otp", tok, map[string]any{"userName": fmt.Sprintf("p%d", i),
			"deviceType": "SMS", "phoneNumber": fmt.Sprintf("+1415555%04d", 100+i)})
		if r.Status == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused != 15 {
		t.Errorf("%d of 20 requests to one prefix refused, want 15", refused)
	}
	if n := len(api.Deliveries()); n != 5 {
		t.Errorf("%d messages published, want 5", n)
	}
	if !strings.Contains(api.Logs.String(), "sms pumping guard refused a request") {
		t.Error("the pumping guard's refusals are not logged")
	}
	metrics := api.Do(http.MethodGet, "/metrics", "", nil)
	if !strings.Contains(string(metrics.Body), `mfa_sms_pumping_blocked_total{region="US"} 15`) {
		t.Error("the pumping guard's refusals are not counted in /metrics")
	}
	other := api.Do(http.MethodPost, "/v1/otp", tok, map[string]any{"userName": "elsewhere",
		"deviceType": "SMS", "phoneNumber": "+447400123456"})
	if other.Status != 201 {
		t.Errorf("another prefix was refused too: %d", other.Status)
	}
}

// signingKey unseals mfa-api's signing key from its store, as only a
// holder of the data key could, to forge tokens with any claims.
func signingKey(t *testing.T, api *apitest.API) (string, ed25519.PrivateKey) {
	t.Helper()
	keys, err := api.App.Store().ListSigningKeys()
	if err != nil || len(keys) == 0 {
		t.Fatal(err)
	}
	ring, _ := keyring.NewAEAD(api.Config.DataKeys)
	seed, err := ring.Open(keys[len(keys)-1].SealedPrivate, []byte(keys[len(keys)-1].ID))
	if err != nil {
		t.Fatal(err)
	}
	return keys[len(keys)-1].ID, ed25519.NewKeyFromSeed(seed)
}

func TestAbuse_ForgedTokens(t *testing.T) {
	api := apitest.Start(t, nil)
	kid, priv := signingKey(t, api)
	pub := priv.Public().(ed25519.PublicKey)
	claims := func(mut func(jwt.MapClaims)) jwt.MapClaims {
		now := time.Now()
		c := jwt.MapClaims{"iss": api.Config.Issuer, "aud": "ciam-mfa", "sub": api.ClientID,
			"client_id": api.ClientID, "scope": "otp:send otp:validate", "iat": now.Unix(),
			"exp": now.Add(5 * time.Minute).Unix(), "jti": "x"}
		if mut != nil {
			mut(c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, key any, hdr map[string]any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		tok.Header["kid"], tok.Header["typ"] = kid, "at+jwt"
		for k, v := range hdr {
			tok.Header[k] = v
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sign(jwt.SigningMethodEdDSA, priv, nil, claims(nil))
	if r := api.Do(http.MethodGet, "/v1/otp/0192f0b4-7a7e-7000-8000-000000000000", good, nil); r.Status != 404 {
		t.Fatalf("a correctly forged token should pass (the key is real): %d %s", r.Status, r.Body)
	}
	disabledID, disabledSecret := api.CreateClient(nil)
	disabledTok := api.Token(disabledID, disabledSecret, "")
	api.AdminDo(http.MethodPost, "/admin/v1/clients/"+disabledID+"/disable", nil)

	tests := map[string]string{
		"alg none":                  sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, claims(nil)),
		"HS256 with the public key": sign(jwt.SigningMethodHS256, []byte(pub), nil, claims(nil)),
		"missing exp": sign(jwt.SigningMethodEdDSA, priv, nil,
			claims(func(c jwt.MapClaims) { delete(c, "exp") })),
		"wrong aud": sign(jwt.SigningMethodEdDSA, priv, nil,
			claims(func(c jwt.MapClaims) { c["aud"] = "other" })),
		"wrong typ": sign(jwt.SigningMethodEdDSA, priv, map[string]any{"typ": "JWT"}, claims(nil)),
		"expired beyond leeway": sign(jwt.SigningMethodEdDSA, priv, nil, claims(func(c jwt.MapClaims) {
			c["exp"] = time.Now().Add(-2 * time.Minute).Unix()
		})),
		"unknown kid":     sign(jwt.SigningMethodEdDSA, priv, map[string]any{"kid": "nope"}, claims(nil)),
		"disabled client": disabledTok,
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			r := api.Do(http.MethodGet, "/v1/otp/0192f0b4-7a7e-7000-8000-000000000000", tok, nil)
			if r.Status != 401 || r.Code() != "UNAUTHORIZED" {
				t.Errorf("= %d %s, want 401 UNAUTHORIZED", r.Status, r.Body)
			}
		})
	}
}

func TestAbuse_ScopeRemovalStopsLiveTokens(t *testing.T) {
	api := apitest.Start(t, nil)
	id, secret := api.CreateClient(nil)
	tok := api.Token(id, secret, "")
	if status, _ := api.AdminDo(http.MethodPatch, "/admin/v1/clients/"+id, map[string]any{
		"scopes": []string{"otp:validate"}}); status != 200 {
		t.Fatalf("update = %d", status)
	}
	if r := api.Do(http.MethodPost, "/v1/otp", tok, emailBody("a", "a@example.com")); r.Status != 403 {
		t.Errorf("a token issued before otp:send was taken away = %d, want 403", r.Status)
	}
}

func TestAbuse_IPv6RotationSharesABucket(t *testing.T) {
	api := apitest.Start(t, nil)
	id, secret := api.CreateClient(map[string]any{"limits": map[string]any{
		"ip": map[string]int{"max": 3, "windowSeconds": 3600}}})
	tok := api.Token(id, secret, "")
	limited := 0
	for i := 0; i < 6; i++ {
		r := api.Do(http.MethodPost, "/v1/otp", tok, map[string]any{"userName": fmt.Sprintf("v%d", i),
			"deviceType": "TOTP", "ipAddress": fmt.Sprintf("2001:db8:1:2::%x", i+1)})
		if r.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 3 {
		t.Errorf("%d of 6 requests from one IPv6 /64 limited, want 3", limited)
	}
	if r := api.Do(http.MethodPost, "/v1/otp", tok, map[string]any{"userName": "z", "deviceType": "TOTP",
		"ipAddress": "fe80::1%eth0"}); r.Status != http.StatusBadRequest {
		t.Errorf("an address with a zone = %d, want 400", r.Status)
	}
}

// userLimited starts the API with a client allowed perHour requests per
// user an hour, and returns a token of it.
func userLimited(t *testing.T, perHour int) (*apitest.API, string) {
	t.Helper()
	api := apitest.Start(t, nil)
	id, secret := api.CreateClient(map[string]any{
		"limits": map[string]any{"user": map[string]int{"max": perHour, "windowSeconds": 3600}},
	})
	return api, api.Token(id, secret, "")
}

// Requests that create nothing (an idempotent repeat, a reused key, a
// failure budget's refusal) count against no rate limit.
func TestAbuse_RequestsThatCreateNothingCountNothing(t *testing.T) {
	api, tok := userLimited(t, 2)
	body := emailBody("jdoe", "jon@example.com")
	first := withKey(api, tok, "k1", body)
	if first.Status != 201 {
		t.Fatalf("first request = %d %s", first.Status, first.Body)
	}
	for range 3 {
		if r := withKey(api, tok, "k1", body); r.Status != 201 || r.JSON["authId"] != first.JSON["authId"] {
			t.Fatalf("repeat = %d %s; want the first challenge", r.Status, r.Body)
		}
		if r := withKey(api, tok, "k1", emailBody("jdoe", "other@example.com")); r.Status != 422 {
			t.Fatalf("reused key = %d %s; want 422", r.Status, r.Body)
		}
	}

	if r := api.Do(http.MethodPost, "/v1/otp", tok, emailBody("jdoe", "jon@example.com")); r.Status != 201 {
		t.Fatalf("second new challenge of a user allowed 2 = %d %s; repeats must not count", r.Status, r.Body)
	}
	if r := api.Do(http.MethodPost, "/v1/otp", tok, emailBody("jdoe", "jon@example.com")); r.Status != 429 {
		t.Errorf("third new challenge of a user allowed 2 = %d %s; want 429", r.Status, r.Body)
	}
}

// A repeat of an idempotent request gets the first challenge even once
// the limits refuse new ones, and a reused key is still told apart.
func TestAbuse_IdempotentRepeatPassesAFullLimit(t *testing.T) {
	api, tok := userLimited(t, 1)
	body := emailBody("jdoe", "jon@example.com")
	first := withKey(api, tok, "k1", body)
	if first.Status != 201 {
		t.Fatalf("first request = %d %s", first.Status, first.Body)
	}
	if r := api.Do(http.MethodPost, "/v1/otp", tok, body); r.Status != 429 {
		t.Fatalf("a new request past the limit = %d %s; want 429", r.Status, r.Body)
	}
	if r := withKey(api, tok, "k1", body); r.Status != 201 || r.JSON["authId"] != first.JSON["authId"] {
		t.Errorf("repeat past the limit = %d %s; want 201 with the first authId", r.Status, r.Body)
	}
	if r := withKey(api, tok, "k1", emailBody("jdoe", "other@example.com")); r.Status != 422 {
		t.Errorf("reused key past the limit = %d %s; want 422", r.Status, r.Body)
	}
	if n := len(api.Deliveries()); n != 1 {
		t.Errorf("%d delivery events; want the first request's only", n)
	}
}

// Requests racing for the last places of a limit get exactly as many as
// it allows, and a refused one stores and sends nothing.
func TestAbuse_ParallelRequestsGetExactlyTheLimit(t *testing.T) {
	api, tok := userLimited(t, 5)
	var created, limited atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			r := api.Do(http.MethodPost, "/v1/otp", tok, emailBody("jdoe", fmt.Sprintf("jon%d@example.com", i)))
			switch r.Status {
			case 201:
				created.Add(1)
			case 429:
				limited.Add(1)
			default:
				t.Errorf("request %d = %d %s", i, r.Status, r.Body)
			}
		})
	}
	wg.Wait()
	if created.Load() != 5 || limited.Load() != 35 {
		t.Errorf("40 parallel requests: %d created, %d limited; want 5 and 35", created.Load(), limited.Load())
	}
	if n, d := api.Challenges(), len(api.Deliveries()); n != 5 || d != 5 {
		t.Errorf("%d challenges stored and %d deliveries published; want 5 of each", n, d)
	}
}

// Two copies of an idempotent request sent at once, when the limit has
// one place left, both get the one challenge.
func TestAbuse_IdempotentTwinsShareTheLastPlace(t *testing.T) {
	api, tok := userLimited(t, 1)
	for round := range 10 {
		body := emailBody(fmt.Sprintf("u%d", round), fmt.Sprintf("jon%d@example.com", round))
		var rs [2]apitest.Response
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() { rs[i] = withKey(api, tok, fmt.Sprintf("k%d", round), body) })
		}
		wg.Wait()
		if rs[0].Status != 201 || rs[1].Status != 201 || rs[0].JSON["authId"] != rs[1].JSON["authId"] {
			t.Errorf("round %d: twins = %d %s and %d %s; want one challenge twice", round,
				rs[0].Status, rs[0].Body, rs[1].Status, rs[1].Body)
		}
	}
}
