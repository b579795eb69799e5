package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/apitest"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/vonagesig"
)

func withKey(api *apitest.API, tok, key string, body any) apitest.Response {
	req, _ := http.NewRequest(http.MethodPost, api.Base+"/v1/otp", strings.NewReader(mustJSON(body)))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	return api.Send(req)
}

func TestAPI_Idempotency(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	body := emailBody("jdoe", "jon@example.com")
	first := withKey(api, tok, "order-42", body)
	again := withKey(api, tok, "order-42", body)
	if first.Status != 201 || again.Status != 201 || first.JSON["authId"] != again.JSON["authId"] {
		t.Fatalf("same key twice = %s and %s; want one authId", first.Body, again.Body)
	}
	if n := len(api.Deliveries()); n != 1 {
		t.Errorf("%d delivery events for one idempotent request, want 1", n)
	}
	other := withKey(api, tok, "order-42", emailBody("jdoe", "other@example.com"))
	if other.Status != 422 || other.Code() != "IDEMPOTENCY_KEY_REUSED" {
		t.Errorf("same key, other body = %d %s; want 422 IDEMPOTENCY_KEY_REUSED", other.Status, other.Body)
	}
	if fresh := withKey(api, tok, "order-43", body); fresh.JSON["authId"] == first.JSON["authId"] {
		t.Error("a new key returned the old challenge")
	}
	otherID, otherSecret := api.CreateClient(nil)
	if r := withKey(api, api.Token(otherID, otherSecret, ""), "order-42", body); r.Status != 201 ||
		r.JSON["authId"] == first.JSON["authId"] {
		t.Errorf("another client's same key = %d %s; want its own challenge", r.Status, r.Body)
	}
}

func TestAPI_ResendAndCancel(t *testing.T) {
	api := apitest.Start(t, nil)
	id, secret := api.CreateClient(map[string]any{"policy": map[string]any{
		"resendCooldownSeconds": 1, "maxResends": 1}})
	tok := api.Token(id, secret, "")
	authID := create(t, api, tok, emailBody("jdoe", "jon@example.com"))
	oldCode := api.Code(authID)

	early := api.Do(http.MethodPost, "/v1/otp/"+authID+"/resend", tok, nil)
	if early.Status != 429 || early.Code() != "RATE_LIMITED" || early.Header.Get("Retry-After") == "" ||
		!strings.HasPrefix(early.JSON["message"].(string), "resend cooldown") {
		t.Fatalf("resend inside the cooldown = %d %v %s", early.Status, early.Header, early.Body)
	}
	if v := validate(api, tok, authID, wrongFor(oldCode)); v.JSON["remainingAttempts"] != float64(4) {
		t.Fatalf("wrong code = %s", v.Body)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := api.Do(http.MethodPost, "/v1/otp/"+authID+"/resend", tok, nil); r.Status != 200 {
		t.Fatalf("resend after the cooldown = %d %s", r.Status, r.Body)
	}
	newCode := api.Code(authID)
	if newCode == oldCode {
		t.Skip("the new code happens to equal the old one (1 in a million)")
	}
	if v := validate(api, tok, authID, oldCode); v.Code() != "OTP_INVALID" || v.JSON["remainingAttempts"] != float64(3) {
		t.Errorf("old code after resend = %s; want OTP_INVALID with 3 left (attempts not reset)", v.Body)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := api.Do(http.MethodPost, "/v1/otp/"+authID+"/resend", tok, nil); r.Status != 429 ||
		!strings.HasPrefix(r.JSON["message"].(string), "resend limit") {
		t.Errorf("resend past the cap = %d %s, want 429 naming the resend limit", r.Status, r.Body)
	}
	if r := api.Do(http.MethodDelete, "/v1/otp/"+authID, tok, nil); r.Status != 204 {
		t.Fatalf("cancel = %d %s", r.Status, r.Body)
	}
	if v := validate(api, tok, authID, newCode); v.Status != 410 || v.Code() != "OTP_EXPIRED" ||
		!strings.Contains(v.JSON["message"].(string), "cancelled") {
		t.Errorf("right code after cancel = %d %s, want 410 OTP_EXPIRED", v.Status, v.Body)
	}
	if r := api.Do(http.MethodGet, "/v1/otp/"+authID, tok, nil); r.JSON["state"] != "CANCELLED" {
		t.Errorf("state after cancel = %v", r.JSON["state"])
	}
}

func wrongFor(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

func TestAPI_DeliveryStatusHistory(t *testing.T) {
	api := apitest.Start(t, map[string]string{"MFA_VONAGE_SIGNATURE_SECRET": "sig-secret"})
	tok := api.Token(api.ClientID, api.Secret, "")
	authID := create(t, api, tok, map[string]any{"userName": "jdoe", "deviceType": "SMS",
		"phoneNumber": "+14155550123"})
	for i, state := range []events.State{events.StateFailed, events.StateSent} {
		st := events.Status{AuthID: authID, ClientID: api.ClientID, Channel: events.ChannelSMS,
			Generation: 1, State: state, Attempt: i + 1, ProviderID: "p-1", At: time.Now().UTC()}
		data, _ := st.Marshal()
		msg := nats.NewMsg(events.ChannelSMS.StatusSubject())
		msg.Data = data
		if _, err := api.JS.PublishMsg(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	waitHistory(t, api, tok, authID, "sent")

	params := map[string]string{"messageId": "p-1", "status": "delivered", "client-ref": authID + ".1.0",
		"err-code": "0", "msisdn": "14155550123", "timestamp": strconv.FormatInt(time.Now().Unix(), 10)}
	if r := postReceipt(t, api, params); r.Status != 401 {
		t.Errorf("unsigned receipt = %d, want 401", r.Status)
	}
	params["sig"], _ = vonagesig.Sign(params, "wrong-secret", "sha256")
	if r := postReceipt(t, api, params); r.Status != 401 {
		t.Errorf("receipt signed with another secret = %d, want 401", r.Status)
	}
	params["sig"], _ = vonagesig.Sign(params, "sig-secret", "sha256")
	if r := postReceipt(t, api, params); r.Status != 204 {
		t.Fatalf("signed receipt = %d %s", r.Status, r.Body)
	}
	got := waitHistory(t, api, tok, authID, "delivered")
	if states := historyStates(got); strings.Join(states, ",") != "failed,sent,delivered" {
		t.Errorf("history = %v, want failed,sent,delivered", states)
	}
}

func postReceipt(t *testing.T, api *apitest.API, params map[string]string) apitest.Response {
	t.Helper()
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	req, _ := http.NewRequest(http.MethodPost, api.Base+"/v1/webhooks/vonage/dlr", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return api.Send(req)
}

// waitHistory polls GET /v1/otp until the latest delivery state is want.
func waitHistory(t *testing.T, api *apitest.API, tok, authID, want string) apitest.Response {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := api.Do(http.MethodGet, "/v1/otp/"+authID, tok, nil)
		if d, _ := r.JSON["delivery"].(map[string]any); d != nil && d["state"] == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery state never became %s: %s", want, r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func historyStates(r apitest.Response) []string {
	var out []string
	for _, h := range r.JSON["deliveryHistory"].([]any) {
		out = append(out, h.(map[string]any)["state"].(string))
	}
	return out
}

func TestAPI_DeliveryHistoryKeepsTheNewestInOrder(t *testing.T) {
	api := apitest.Start(t, nil)
	tok := api.Token(api.ClientID, api.Secret, "")
	authID := create(t, api, tok, map[string]any{"userName": "jdoe", "deviceType": "EMAIL",
		"email": "jdoe@example.com"})
	const n = 40
	base := time.Now().UTC()
	// Published newest first, all at once: the API may apply them in any
	// order and must still keep the 32 newest, oldest first.
	for attempt := n; attempt >= 1; attempt-- {
		st := events.Status{AuthID: authID, ClientID: api.ClientID, Channel: events.ChannelEmail,
			Generation: 1, State: events.StateFailed, Attempt: attempt,
			At: base.Add(time.Duration(attempt) * time.Millisecond)}
		if attempt == n {
			st.State = events.StateSent
		}
		data, _ := st.Marshal()
		msg := nats.NewMsg(events.ChannelEmail.StatusSubject())
		msg.Data = data
		if _, err := api.JS.PublishMsg(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		r := api.Do(http.MethodGet, "/v1/otp/"+authID, tok, nil)
		hist, _ := r.JSON["deliveryHistory"].([]any)
		if len(hist) == 32 && hist[0].(map[string]any)["attempt"] == float64(n-31) {
			for i, h := range hist {
				if got := h.(map[string]any)["attempt"]; got != float64(n-31+i) {
					t.Fatalf("entry %d has attempt %v, want %d: %s", i, got, n-31+i, r.Body)
				}
			}
			if d := r.JSON["delivery"].(map[string]any); d["state"] != "sent" {
				t.Errorf("delivery state = %v, want sent", d["state"])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("history never held attempts %d to %d: %s", n-31, n, r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
