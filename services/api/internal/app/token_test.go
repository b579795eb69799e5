package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/apitest"
)

func TestAPI_TokenEndpoint(t *testing.T) {
	api := apitest.Start(t, nil)
	post := func(form url.Values, user, pass string, contentType string) apitest.Response {
		req, _ := http.NewRequest(http.MethodPost, api.Base+"/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", contentType)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		return api.Send(req)
	}
	grant := url.Values{"grant_type": {"client_credentials"}}
	const form = "application/x-www-form-urlencoded"

	ok := post(grant, api.ClientID, api.Secret, form)
	if ok.Status != 200 || ok.Header.Get("Cache-Control") != "no-store" || ok.JSON["token_type"] != "Bearer" {
		t.Fatalf("token = %d %v %s", ok.Status, ok.Header, ok.Body)
	}
	if ok.JSON["scope"] != "otp:send otp:validate totp:manage" {
		t.Errorf("scope without a request = %v, want every allowed scope", ok.JSON["scope"])
	}

	bad := post(grant, api.ClientID, "wrong", form)
	if bad.Status != 401 || bad.JSON["error"] != "invalid_client" || bad.Header.Get("WWW-Authenticate") == "" ||
		bad.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("wrong secret = %d %v %s", bad.Status, bad.Header, bad.Body)
	}
	r := post(grant, api.ClientID, api.Secret, "application/json")
	if r.Status != 400 || r.JSON["error"] != "invalid_request" {
		t.Errorf("JSON body = %d %s, want 400 invalid_request", r.Status, r.Body)
	}
	r = post(url.Values{"grant_type": {"authorization_code"}}, api.ClientID, api.Secret, form)
	if r.JSON["error"] != "unsupported_grant_type" {
		t.Errorf("authorization_code = %d %s", r.Status, r.Body)
	}

	disabledID, disabledSecret := api.CreateClient(nil)
	tok := api.Token(disabledID, disabledSecret, "")
	if status, _ := api.AdminDo(http.MethodPost, "/admin/v1/clients/"+disabledID+"/disable", nil); status != 200 {
		t.Fatalf("disable = %d", status)
	}
	if r := api.Do(http.MethodGet, "/v1/otp/0192f0b4-7a7e-7000-8000-000000000000", tok, nil); r.Status != 401 {
		t.Errorf("a disabled client's token = %d, want 401", r.Status)
	}
	if r := post(grant, disabledID, disabledSecret, form); r.Status != 401 {
		t.Errorf("a disabled client got a token: %d", r.Status)
	}
}
