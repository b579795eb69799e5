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

func TestAPI_TokenRequestInput(t *testing.T) {
	api := apitest.Start(t, nil)
	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		err         string
		scope       string
	}{
		{"media type in capitals", "grant_type=client_credentials", "APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8",
			200, "", "otp:send otp:validate totp:manage"},
		{"media type with a suffix", "grant_type=client_credentials", "application/x-www-form-urlencodedXYZ",
			400, "invalid_request", ""},
		{"scopes split by spaces", "grant_type=client_credentials&scope=otp:validate++otp:send", "",
			200, "", "otp:send otp:validate"},
		{"scopes split by a no-break space", "grant_type=client_credentials&scope=otp:send%C2%A0otp:validate", "",
			400, "invalid_scope", ""},
		{"scopes split by a tab", "grant_type=client_credentials&scope=otp:send%09otp:validate", "",
			400, "invalid_scope", ""},
		{"unknown scope with controls", "grant_type=client_credentials&scope=admin%22%5C%0D%0Ax", "",
			400, "invalid_scope", ""},
		{"unknown scope", "grant_type=client_credentials&scope=otp:send+admin%22x", "", 400, "invalid_scope", ""},
		{"repeated parameter with controls", "grant_type=client_credentials&%3Cb%3E%0D%0A%22=1&%3Cb%3E%0D%0A%22=2", "",
			400, "invalid_request", ""},
		{"long repeated parameter", "grant_type=client_credentials&" + strings.Repeat("p", 300) + "=1&" +
			strings.Repeat("p", 300) + "=2", "", 400, "invalid_request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, api.Base+"/oauth2/token", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			req.SetBasicAuth(api.ClientID, api.Secret)
			r := api.Send(req)
			if r.Status != tt.status || tt.err != "" && r.JSON["error"] != tt.err {
				t.Fatalf("= %d %s; want %d %s", r.Status, r.Body, tt.status, tt.err)
			}
			if tt.scope != "" && r.JSON["scope"] != tt.scope {
				t.Errorf("scope = %v, want %q", r.JSON["scope"], tt.scope)
			}
			desc, _ := r.JSON["error_description"].(string)
			// RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E only.
			outside := func(c rune) bool { return c < 0x20 || c > 0x7e || c == '"' || c == '\\' }
			if i := strings.IndexFunc(desc, outside); i >= 0 {
				t.Errorf("error_description %q has a character RFC 6749 does not allow at %d", desc, i)
			}
			if len(desc) > 120 {
				t.Errorf("error_description is %d bytes long: %q", len(desc), desc)
			}
		})
	}
}
