package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/apitest"
)

func emailBody(user, email string) map[string]any {
	return map[string]any{"userName": user, "email": email, "deviceType": "EMAIL",
		"templateName": "demotemplate"}
}

func create(t *testing.T, api *apitest.API, token string, body any) string {
	t.Helper()
	r := api.Do(http.MethodPost, "/v1/otp", token, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /v1/otp = %d %s", r.Status, r.Body)
	}
	return r.JSON["authId"].(string)
}

func validate(api *apitest.API, token, authID, code string) apitest.Response {
	return api.Do(http.MethodPost, "/v1/otp/"+authID+"/validate", token, map[string]string{"otp": code})
}

func TestAPI_EmailChallenge(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	id := create(t, api, tok, emailBody("jdoe", "jon.doe@example.com"))
	deliveries := api.Deliveries()
	if len(deliveries) != 1 {
		t.Fatalf("%d delivery events, want 1", len(deliveries))
	}
	d := deliveries[0]
	if d.Header.Get("Nats-Msg-Id") != id+".1.0" || d.Secret.Destination != "jon.doe@example.com" {
		t.Errorf("event msg id %q to %q", d.Header.Get("Nats-Msg-Id"), d.Secret.Destination)
	}
	if strings.Contains(string(d.Raw), d.Secret.Code) || strings.Contains(string(d.Raw), "jon.doe") {
		t.Error("the raw stream message carries the code or the address in clear")
	}

	if r := api.Do(http.MethodGet, "/v1/otp/"+id, tok, nil); r.JSON["state"] != "PENDING" ||
		strings.Contains(string(r.Body), d.Secret.Code) {
		t.Errorf("GET = %s; want PENDING and no code", r.Body)
	}
	if r := validate(api, tok, id, d.Secret.Code); r.Status != http.StatusOK || r.JSON["status"] != "SUCCESS" {
		t.Fatalf("validate = %d %s", r.Status, r.Body)
	}
	if r := validate(api, tok, id, d.Secret.Code); r.Status != http.StatusConflict || r.Code() != "OTP_ALREADY_USED" {
		t.Errorf("second validate = %d %s, want 409 OTP_ALREADY_USED", r.Status, r.Body)
	}
	body := map[string]string{"authId": id, "otp": d.Secret.Code}
	if r := api.Do(http.MethodPost, "/v1/otp/validate", tok, body); r.Code() != "OTP_ALREADY_USED" {
		t.Errorf("POST /v1/otp/validate = %d %s, want OTP_ALREADY_USED", r.Status, r.Body)
	}
}

func TestAPI_Lockout(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	id := create(t, api, tok, emailBody("jdoe", "jon@example.com"))
	code := api.Code(id)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := 4; i >= 0; i-- {
		r := validate(api, tok, id, wrong)
		if r.Status != http.StatusBadRequest || r.Code() != "OTP_INVALID" || r.JSON["remainingAttempts"] != float64(i) {
			t.Fatalf("wrong code %d = %d %s; want OTP_INVALID with %d left", 5-i, r.Status, r.Body, i)
		}
	}
	right, again := validate(api, tok, id, code), validate(api, tok, id, wrong)
	if right.Status != http.StatusGone || right.Code() != "OTP_LOCKED" {
		t.Errorf("right code after lockout = %d %s, want 410 OTP_LOCKED", right.Status, right.Body)
	}
	if string(right.Body) != string(again.Body) {
		t.Errorf("after lockout the right and a wrong code answer differently: %s vs %s", right.Body, again.Body)
	}
}

func TestAPI_ParallelGuesses(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")

	t.Run("wrong codes compare at most five times", func(t *testing.T) {
		id := create(t, api, tok, emailBody("jdoe", "jon@example.com"))
		code := api.Code(id)
		counts := parallel(200, func(i int) string {
			guess := fmt.Sprintf("%06d", i)
			if guess == code {
				guess = "999999"
			}
			return validate(api, tok, id, guess).Code()
		})
		if counts["OTP_INVALID"] != 5 || counts["OTP_LOCKED"] != 195 {
			t.Errorf("answers = %v; want exactly 5 OTP_INVALID and 195 OTP_LOCKED", counts)
		}
	})
	t.Run("the right code validates once", func(t *testing.T) {
		id := create(t, api, tok, emailBody("jane", "jane@example.com"))
		code := api.Code(id)
		counts := parallel(2, func(int) string {
			if r := validate(api, tok, id, code); r.Status == http.StatusOK {
				return "SUCCESS"
			} else {
				return r.Code()
			}
		})
		if counts["SUCCESS"] != 1 || counts["OTP_ALREADY_USED"] != 1 {
			t.Errorf("answers = %v; want one SUCCESS and one OTP_ALREADY_USED", counts)
		}
	})
}

func parallel(n int, fn func(i int) string) map[string]int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	counts := map[string]int{}
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got := fn(i)
			mu.Lock()
			counts[got]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

func TestAPI_BadInput(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	validateOnly := api.Token(api.ClientID, api.Secret, "otp:validate")
	big := `{"userName":"` + strings.Repeat("a", 17<<10) + `"}`
	tests := []struct {
		name   string
		token  string
		body   any
		status int
		code   string
	}{
		{"malformed json", tok, `{"userName":`, 400, "INVALID_REQUEST"},
		{"not an object", tok, `[1,2]`, 400, "INVALID_REQUEST"},
		{"unknown field", tok, `{"userName":"a","deviceType":"EMAIL","email":"a@b.co","admin":true}`, 400, "INVALID_REQUEST"},
		{"duplicate field", tok, `{"userName":"a","userName":"b","deviceType":"EMAIL","email":"a@b.co"}`,
			400, "INVALID_REQUEST"},
		{"wrong type", tok, `{"userName":7,"deviceType":"EMAIL","email":"a@b.co"}`, 400, "INVALID_REQUEST"},
		{"trailing data", tok, `{"userName":"a","deviceType":"EMAIL","email":"a@b.co"} {}`, 400, "INVALID_REQUEST"},
		{"missing userName", tok, map[string]any{"deviceType": "EMAIL", "email": "a@b.co"}, 400, "INVALID_REQUEST"},
		{"userName too long", tok, emailBody(strings.Repeat("u", 129), "a@b.co"), 400, "INVALID_REQUEST"},
		{"userName control char", tok, emailBody("a\nb", "a@b.co"), 400, "INVALID_REQUEST"},
		{"missing email", tok, map[string]any{"userName": "a", "deviceType": "EMAIL"}, 400, "INVALID_EMAIL"},
		{"display name email", tok, emailBody("a", "Jon <jon@example.com>"), 400, "INVALID_EMAIL"},
		{"header injection email", tok, emailBody("a", "jon@example.com\r\nBcc: x@example.com"), 400, "INVALID_EMAIL"},
		{"invalid phone", tok, map[string]any{"userName": "a", "deviceType": "SMS", "phoneNumber": "+1 555"},
			400, "INVALID_PHONE"},
		{"landline", tok, map[string]any{"userName": "a", "deviceType": "SMS", "phoneNumber": "+44 20 7946 0018"},
			400, "INVALID_PHONE"},
		{"unknown device type", tok, map[string]any{"userName": "a", "deviceType": "FAX"}, 400, "UNSUPPORTED_DEVICE_TYPE"},
		{"unknown template", tok, map[string]any{"userName": "a", "deviceType": "EMAIL", "email": "a@b.co",
			"templateName": "nope"}, 400, "UNKNOWN_TEMPLATE"},
		{"locale of digits", tok, map[string]any{"userName": "a", "deviceType": "EMAIL", "email": "a@b.co",
			"locale": "12-34"}, 400, "INVALID_REQUEST"},
		{"locale with an empty subtag", tok, map[string]any{"userName": "a", "deviceType": "EMAIL",
			"email": "a@b.co", "locale": "en--US"}, 400, "INVALID_REQUEST"},
		{"locale with an underscore", tok, map[string]any{"userName": "a", "deviceType": "EMAIL",
			"email": "a@b.co", "locale": "en_US"}, 400, "INVALID_REQUEST"},
		{"expiry too long", tok, map[string]any{"userName": "a", "deviceType": "EMAIL", "email": "a@b.co",
			"expiresInSeconds": 3600}, 400, "INVALID_EXPIRY"},
		{"oversized body", tok, big, 413, "PAYLOAD_TOO_LARGE"},
		{"no token", "", emailBody("a", "a@b.co"), 401, "UNAUTHORIZED"},
		{"tampered token", tok[:len(tok)-4] + "AAAA", emailBody("a", "a@b.co"), 401, "UNAUTHORIZED"},
		{"garbage token", "not-a-jwt", emailBody("a", "a@b.co"), 401, "UNAUTHORIZED"},
		{"wrong scope", validateOnly, emailBody("a", "a@b.co"), 403, "INSUFFICIENT_SCOPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, events := api.Challenges(), api.StreamMessages()
			r := api.Do(http.MethodPost, "/v1/otp", tt.token, tt.body)
			if r.Status != tt.status || r.Code() != tt.code {
				t.Fatalf("= %d %s; want %d %s", r.Status, r.Body, tt.status, tt.code)
			}
			if r.JSON["status"] != "FAILED" || r.JSON["message"] == "" {
				t.Errorf("error body %s lacks status or message", r.Body)
			}
			if api.Challenges() != before || api.StreamMessages() != events {
				t.Error("a refused request stored a challenge or published an event")
			}
			if tt.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
		})
	}
}

func TestAPI_ValidateInput(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	sendOnly := api.Token(api.ClientID, api.Secret, "otp:send")
	id := create(t, api, tok, emailBody("jdoe", "jon@example.com"))
	other, otherSecret := api.CreateClient(nil)
	otherTok := api.Token(other, otherSecret, "")

	tests := []struct {
		name   string
		token  string
		path   string
		body   any
		status int
		code   string
	}{
		{"unknown authId", tok, "/v1/otp/0192f0b4-7a7e-7000-8000-000000000000/validate",
			map[string]string{"otp": "123456"}, 404, "NOT_FOUND"},
		{"not a uuid", tok, "/v1/otp/nope/validate", map[string]string{"otp": "123456"}, 404, "NOT_FOUND"},
		{"another client's authId", otherTok, "/v1/otp/" + id + "/validate",
			map[string]string{"otp": "123456"}, 404, "NOT_FOUND"},
		{"letters", tok, "/v1/otp/" + id + "/validate", map[string]string{"otp": "12a456"}, 400, "INVALID_REQUEST"},
		{"missing otp", tok, "/v1/otp/" + id + "/validate", map[string]string{}, 400, "INVALID_REQUEST"},
		{"wrong scope", sendOnly, "/v1/otp/" + id + "/validate", map[string]string{"otp": "123456"},
			403, "INSUFFICIENT_SCOPE"},
		{"body without authId", tok, "/v1/otp/validate", map[string]string{"otp": "123456"}, 400, "INVALID_REQUEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := api.Do(http.MethodPost, tt.path, tt.token, tt.body)
			if r.Status != tt.status || r.Code() != tt.code {
				t.Fatalf("= %d %s; want %d %s", r.Status, r.Body, tt.status, tt.code)
			}
		})
	}
	unknown := api.Do(http.MethodGet, "/v1/otp/0192f0b4-7a7e-7000-8000-000000000000", otherTok, nil)
	foreign := api.Do(http.MethodGet, "/v1/otp/"+id, otherTok, nil)
	if unknown.Status != 404 || string(unknown.Body) != string(foreign.Body) {
		t.Errorf("another client's authId answers %s, an unknown one %s; want the same", foreign.Body, unknown.Body)
	}
	if r := validate(api, tok, id, api.Code(id)); r.Status != http.StatusOK {
		t.Errorf("the owner's validation after the refused attempts = %d %s", r.Status, r.Body)
	}
}

func TestAPI_JetStreamDown(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	api.NATS.Shutdown()
	api.NATS.WaitForShutdown()
	r := api.Do(http.MethodPost, "/v1/otp", tok, emailBody("jdoe", "jon@example.com"))
	if r.Status != http.StatusServiceUnavailable || r.Code() != "UNAVAILABLE" {
		t.Fatalf("with JetStream down = %d %s; want 503 UNAVAILABLE", r.Status, r.Body)
	}
	if n := api.Challenges(); n != 0 {
		t.Errorf("%d challenges left behind, want 0", n)
	}
	if r := api.Do(http.MethodGet, "/readyz", "", nil); r.Status != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d with JetStream down, want 503", r.Status)
	}
}

// A request the store refuses before its commit begins has sent nothing:
// it is refused without a warning about a code sent for nothing, and its
// rate charge is given back.
func TestAPI_StoreDownSendsNothing(t *testing.T) {
	api := apitest.Start(t, nil)
	id, secret := api.CreateClient(map[string]any{"limits": map[string]any{
		"user": map[string]any{"max": 1, "windowSeconds": 60}}})
	tok := api.Token(id, secret, "")
	before := api.StreamMessages()
	api.CloseStore()
	for i := range 2 {
		r := api.Do(http.MethodPost, "/v1/otp", tok, emailBody("jdoe", "jon@example.com"))
		if r.Status != http.StatusServiceUnavailable || r.Code() != "UNAVAILABLE" {
			t.Fatalf("request %d with the store closed = %d %s; want 503 UNAVAILABLE, the charge refunded",
				i+1, r.Status, r.Body)
		}
	}
	if n := api.StreamMessages(); n != before {
		t.Errorf("%d deliveries published with the store closed, want none", n-before)
	}
	if logs := api.Logs.String(); strings.Contains(logs, "may have been sent") {
		t.Error("warned of a code sent for nothing, though none was published")
	}
}

func TestAPI_NoSecretsInLogs(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	id := create(t, api, tok, emailBody("jdoe", "secret.person@example.com"))
	code := api.Code(id)
	validate(api, tok, id, "000001")
	validate(api, tok, id, code)
	logs := api.Logs.String()
	if !strings.Contains(logs, id) {
		t.Fatal("logs do not mention the challenge at all; the test would prove nothing")
	}
	for _, secret := range []string{code, "secret.person@example.com", api.Secret, tok} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs carry %q", secret)
		}
	}
}

func TestAPI_Health(t *testing.T) {
	api := apitest.Start(t, nil)
	for _, path := range []string{"/healthz", "/readyz", "/openapi.yaml", "/.well-known/jwks.json",
		"/.well-known/oauth-authorization-server"} {
		if r := api.Do(http.MethodGet, path, "", nil); r.Status != http.StatusOK {
			t.Errorf("GET %s = %d", path, r.Status)
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestAPI_RefusalsSayWhy(t *testing.T) {
	api := apitest.Start(t, nil)
	validateOnly := api.Token(api.ClientID, api.Secret, "otp:validate")
	r := api.Do(http.MethodPost, "/v1/otp", validateOnly, emailBody("a", "a@example.com"))
	if r.Status != 403 || !strings.Contains(r.JSON["message"].(string), "otp:send") ||
		!strings.Contains(r.Header.Get("WWW-Authenticate"), `scope="otp:send"`) {
		t.Errorf("without otp:send = %d %v %s; want 403 naming the scope", r.Status, r.Header, r.Body)
	}

	id, secret := api.CreateClient(map[string]any{"limits": map[string]any{
		"user": map[string]any{"max": 1, "windowSeconds": 60}}})
	tok := api.Token(id, secret, "")
	create(t, api, tok, emailBody("jdoe", "one@example.com"))
	r = api.Do(http.MethodPost, "/v1/otp", tok, emailBody("jdoe", "two@example.com"))
	if r.Status != 429 || r.JSON["message"] != "the user rate limit is reached; retry after the time in Retry-After" {
		t.Errorf("over the user limit = %d %s; want 429 naming the user limit", r.Status, r.Body)
	}
	r = api.Do(http.MethodPost, "/v1/otp", tok, map[string]any{"userName": "a", "deviceType": "EMAIL"})
	if r.JSON["message"] != "email: required for this deviceType" {
		t.Errorf("without an email = %s", r.Body)
	}
}

func TestAPI_WellFormedLocales(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	for _, locale := range []string{"pt-BR", "xx", "en-Latn-US", "zh-Hant"} {
		body := map[string]any{"userName": "a", "deviceType": "EMAIL", "email": "a@example.com",
			"locale": locale}
		if r := api.Do(http.MethodPost, "/v1/otp", tok, body); r.Status != http.StatusCreated {
			t.Errorf("locale %q = %d %s, want 201", locale, r.Status, r.Body)
		}
	}
}

func TestAPI_Routes(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	tests := []struct {
		name   string
		method string
		path   string
		token  string
		status int
		code   string
	}{
		{"wrong method", http.MethodPut, "/v1/otp", tok, 405, "METHOD_NOT_ALLOWED"},
		{"wrong method without a token", http.MethodPatch, "/v1/otp/validate", "", 405, "METHOD_NOT_ALLOWED"},
		{"unknown route", http.MethodGet, "/v1/nothing", tok, 404, "NOT_FOUND"},
		{"unknown route without a token", http.MethodGet, "/v1/nothing", "", 404, "NOT_FOUND"},
		{"known route without a token", http.MethodPost, "/v1/otp", "", 401, "UNAUTHORIZED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := api.Do(tt.method, tt.path, tt.token, nil)
			if r.Status != tt.status || r.Code() != tt.code {
				t.Fatalf("%s %s = %d %s; want %d %s", tt.method, tt.path, r.Status, r.Body, tt.status, tt.code)
			}
			if tt.status == 405 && r.Header.Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
		})
	}
}
