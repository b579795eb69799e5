package admin_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/apitest"
)

// step is one admin call and the status it must answer. Its path is under
// /admin/v1, and {id}, {name} and {domain} in it stand for the test's
// client, template and domain.
type step struct {
	method, path string
	body         any
	want         int
}

// obj is a JSON object in a request body.
type obj = map[string]any

var acmeFiles = map[string]string{
	"subject.txt":    "Your {{.AppName}} code",
	"body.txt":       "Hello {{.UserName}}, your code is {{.Code}}.",
	"body.html":      "<p>Hello {{.UserName}}, your code is {{.Code}}.</p>",
	"sms.txt":        "{{.Code}} is your {{.AppName}} code",
	"pt/subject.txt": "Seu código {{.AppName}}",
}

// clientSettings sets every field a client update takes but the sender.
var clientSettings = obj{
	"name": "Acme", "scopes": []string{"otp:send", "otp:validate"},
	"deviceTypes": []string{"EMAIL", "SMS", "TOTP"},
	"templates":   []string{"demotemplate"}, "defaultTemplate": "demotemplate",
	"policy": obj{"codeLength": 8, "lifetimeSeconds": 120, "maxAttempts": 3},
	"totp":   obj{"algorithm": "SHA256", "digits": 8, "period": 30, "issuer": "Acme"},
	"limits": obj{"user": obj{"max": 5, "windowSeconds": 60},
		"failures": obj{"max": 10, "windowSeconds": 3600, "hardStop": 50}},
	"destinations": obj{"defaultRegion": "US", "allowedCountries": []string{"US", "CA"}},
	"brand": obj{"logoUrl": "https://acme.example/logo.png", "primaryColor": "#123456",
		"supportEmail": "help@acme.example"},
	"smsSender": "Acme", "smsMaxSegments": 2,
}

func clientSteps() []step {
	second := obj{"name": "Second", "deviceTypes": []string{"SMS"}}
	return []step{
		{"GET", "/clients", nil, 200},
		{"POST", "/clients", second, 201},
		{"POST", "/clients", obj{"name": "No device types"}, 400},
		{"GET", "/clients/{id}", nil, 200},
		{"GET", "/clients/mfa_nobody", nil, 404},
		{"PATCH", "/clients/{id}", clientSettings, 200},
		{"PATCH", "/clients/{id}", obj{"colour": "red"}, 400},
		{"PATCH", "/clients/mfa_nobody", obj{"name": "Nobody"}, 404},
		{"POST", "/clients/{id}/disable", nil, 200},
		{"POST", "/clients/{id}/enable", nil, 200},
		{"POST", "/clients/mfa_nobody/enable", nil, 404},
		{"POST", "/clients/{id}/rotate-secret", obj{"graceSeconds": 3600}, 200},
		{"POST", "/clients/{id}/rotate-secret", nil, 200},
		{"POST", "/clients/{id}/rotate-secret", obj{"graceSeconds": -1}, 400},
		{"POST", "/clients/mfa_nobody/rotate-secret", nil, 404},
	}
}

func brandingSteps(t testing.TB) []step {
	sender := obj{"emailSender": obj{"fromAddress": "login@acme.example", "fromName": "Acme",
		"replyTo": "help@acme.example"}}
	domain := obj{"domain": "acme.example", "selector": "mfa2026", "privateKeyPem": ed25519PEM(t)}
	broken := obj{"files": obj{"subject.txt": "{{.Nope"}}
	return []step{
		{"PATCH", "/clients/{id}", sender, 400},
		{"POST", "/clients/{id}/domains", domain, 201},
		{"POST", "/clients/{id}/domains", obj{"domain": "not a domain"}, 400},
		{"POST", "/clients/mfa_nobody/domains", domain, 404},
		{"GET", "/clients/{id}/domains", nil, 200},
		{"PATCH", "/clients/{id}", sender, 200},
		{"DELETE", "/clients/{id}/domains/{domain}", nil, 400},
		{"PUT", "/clients/{id}/templates/{name}", obj{"files": acmeFiles}, 200},
		{"PUT", "/clients/{id}/templates/{name}", broken, 400},
		{"GET", "/clients/{id}/templates", nil, 200},
		{"GET", "/clients/mfa_nobody/templates", nil, 404},
		{"POST", "/clients/{id}/templates/{name}/preview", obj{"locale": "pt"}, 200},
		{"POST", "/clients/{id}/templates/{name}/preview", nil, 200},
		{"POST", "/clients/{id}/templates/missing/preview", nil, 404},
		{"DELETE", "/clients/{id}/templates/{name}", nil, 204},
		{"DELETE", "/clients/{id}/templates/{name}", nil, 404},
		{"PATCH", "/clients/{id}", obj{"emailSender": obj{}}, 200},
		{"DELETE", "/clients/{id}/domains/{domain}", nil, 204},
		{"DELETE", "/clients/{id}/domains/{domain}", nil, 404},
	}
}

func operationSteps(id string) []step {
	user := obj{"clientId": id, "userName": "jdoe"}
	return []step{
		{"GET", "/keys", nil, 200},
		{"POST", "/keys/rotate", nil, 200},
		{"GET", "/dlq?channel=email&since=1h", nil, 200},
		{"GET", "/dlq?channel=fax", nil, 400},
		{"GET", "/dlq?since=yesterday", nil, 400},
		{"POST", "/dlq/replay", obj{"dryRun": true}, 200},
		{"POST", "/dlq/replay", obj{"channel": "email"}, 200},
		{"POST", "/dlq/replay", nil, 400},
		{"POST", "/limits/clear", obj{"clientId": id, "email": "jon@example.com"}, 200},
		{"POST", "/limits/clear", user, 200},
		{"POST", "/limits/clear", obj{"clientId": id}, 400},
		{"POST", "/limits/clear", obj{"clientId": id, "email": "jon"}, 400},
		{"POST", "/limits/clear", obj{"clientId": "mfa_nobody", "userName": "jdoe"}, 404},
		{"POST", "/users/erase", user, 200},
		{"POST", "/users/erase", obj{"clientId": id}, 400},
		{"GET", "/audit", nil, 200},
		{"GET", "/audit?limit=5&since=1h", nil, 200},
		{"GET", "/audit?limit=0", nil, 400},
		{"GET", "/openapi.yaml", nil, 200},
	}
}

func ed25519PEM(t testing.TB) string {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// deadLetter dead-letters the delivery of a new email challenge, as a
// worker that gave up would, so that the dead-letter routes have one to
// show.
func deadLetter(t testing.TB, api *apitest.API) {
	t.Helper()
	deadLetterAmong(t, api, 1)
}

// deadLetterAmong is deadLetter where the letter makes want in all.
func deadLetterAmong(t testing.TB, api *apitest.API, want int) {
	t.Helper()
	tok := api.Token(api.ClientID, api.Secret, "")
	r := api.Do(http.MethodPost, "/v1/otp", tok, obj{"userName": "jdoe", "email": "jon@example.com",
		"deviceType": "EMAIL", "templateName": "demotemplate"})
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /v1/otp = %d %s", r.Status, r.Body)
	}
	d := api.Deliveries()[0]

	m := nats.NewMsg(events.ChannelEmail.DLQSubject())
	m.Data = d.Raw
	m.Header.Set(events.HeaderReason, "attempts-exhausted")
	m.Header.Set(events.HeaderAttempts, "5")
	m.Header.Set(events.HeaderLastError, "421 try again later")
	m.Header.Set(events.HeaderAuthID, d.Delivery.AuthID)
	m.Header.Set(events.HeaderDestination, "j***@example.com")
	m.Header.Set(events.HeaderFailedAt, time.Now().UTC().Format(time.RFC3339Nano))
	if _, err := api.JS.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}

	status, out := api.AdminDo(http.MethodGet, "/admin/v1/dlq", nil)
	if list, _ := out["deadLetters"].([]any); status != http.StatusOK || len(list) != want {
		t.Fatalf("GET /admin/v1/dlq = %d %v, want %d dead letters", status, out, want)
	}
}

// TestAdmin_EveryRouteAnswersAsDocumented calls every admin route, each at
// least once successfully, and lets the harness check each answer against
// the admin OpenAPI document.
func TestAdmin_EveryRouteAnswersAsDocumented(t *testing.T) {
	api := apitest.Start(t, nil)
	deadLetter(t, api)
	steps := slices.Concat(clientSteps(), brandingSteps(t), operationSteps(api.ClientID))
	fill := strings.NewReplacer("{id}", api.ClientID, "{name}", "acme", "{domain}", "acme.example")

	succeeded := map[string]bool{}
	for _, s := range steps {
		path := "/admin/v1" + s.path
		if status, out := api.AdminDo(s.method, fill.Replace(path), s.body); status != s.want {
			t.Errorf("%s %s = %d %v, want %d", s.method, path, status, out, s.want)
		}
		if s.want < 300 {
			route, _, _ := strings.Cut(path, "?")
			succeeded[s.method+" "+route] = true
		}
	}

	for _, r := range routes() {
		if !succeeded[r] {
			t.Errorf("no step shows %s succeeding", r)
		}
	}
}

func TestAdmin_RefusalsAnswerAsDocumented(t *testing.T) {
	api := apitest.Start(t, nil)
	big := obj{"files": obj{"subject.txt": strings.Repeat("x", 300<<10)}}
	erase := obj{"clientId": api.ClientID, "userName": "jdoe"}
	tests := []struct {
		name         string
		method, path string
		body         any
		// header is set to value before sending; an empty value removes it.
		header, value string
		want          int
		code          string
	}{
		{"no token", "GET", "/clients", nil, "Authorization", "", 401, "UNAUTHORIZED"},
		{"wrong token", "POST", "/keys/rotate", nil,
			"Authorization", "Bearer x", 401, "UNAUTHORIZED"},
		{"body too large", "PUT", "/clients/{id}/templates/big", big,
			"", "", 413, "PAYLOAD_TOO_LARGE"},
		{"not JSON", "POST", "/users/erase", erase,
			"Content-Type", "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"not UTF-8", "PATCH", "/clients/{id}", obj{"name": "x"},
			"Content-Type", "application/json; charset=latin1", 415, "UNSUPPORTED_MEDIA_TYPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/admin/v1" + strings.ReplaceAll(tt.path, "{id}", api.ClientID)
			req := api.AdminRequest(tt.method, path, tt.body)
			if tt.value == "" {
				req.Header.Del(tt.header)
			} else {
				req.Header.Set(tt.header, tt.value)
			}

			if r := api.Send(req); r.Status != tt.want || r.Code() != tt.code {
				t.Errorf("%s %s = %d %s, want %d %s", tt.method, path, r.Status, r.Body,
					tt.want, tt.code)
			}
		})
	}
}

func TestAdmin_UpdateNormalisesAsCreate(t *testing.T) {
	api := apitest.Start(t, nil)
	status, created := api.AdminDo(http.MethodPost, "/admin/v1/clients",
		obj{"name": "Plain", "deviceTypes": []string{"TOTP"}})
	if status != http.StatusCreated {
		t.Fatalf("POST /clients = %d %v", status, created)
	}
	id, _ := created["clientId"].(string)
	path := "/admin/v1/clients/" + id
	view, _ := created["client"].(map[string]any)
	if _, ok := view["templates"].([]any); !ok {
		t.Errorf("templates of a client without any = %v, want []", view["templates"])
	}
	dest, _ := view["destinations"].(map[string]any)
	if _, ok := dest["allowedCountries"].([]any); !ok {
		t.Errorf("allowedCountries of a client without any = %v, want []", dest["allowedCountries"])
	}
	_, list := api.AdminDo(http.MethodGet, path+"/templates", nil)
	if _, ok := list["templates"].([]any); !ok {
		t.Errorf("templates of a client that may use none = %v, want []", list["templates"])
	}

	status, out := api.AdminDo(http.MethodPatch, path,
		obj{"name": "  Renamed \t", "defaultTemplate": "demotemplate"})
	if status != http.StatusOK || out["name"] != "Renamed" || out["defaultTemplate"] != "demotemplate" {
		t.Fatalf("PATCH name and defaultTemplate = %d %v", status, out)
	}
	if !slices.Contains(asList(out["templates"]), any("demotemplate")) {
		t.Errorf("templates = %v, want the default template in them", out["templates"])
	}

	status, out = api.AdminDo(http.MethodPatch, path, obj{"scopes": []string{}})
	if status != http.StatusBadRequest || !strings.Contains(fmtAny(out["message"]), "scopes") {
		t.Errorf("PATCH scopes [] = %d %v, want 400 about scopes", status, out)
	}
	if _, out = api.AdminDo(http.MethodGet, path, nil); len(asList(out["scopes"])) != 3 {
		t.Errorf("scopes after a refused update = %v, want all three kept", out["scopes"])
	}

	_, star := api.AdminDo(http.MethodPost, "/admin/v1/clients",
		obj{"name": "Star", "deviceTypes": []string{"EMAIL"}, "templates": []string{"*"}})
	view, _ = star["client"].(map[string]any)
	if view == nil || fmtAny(view["defaultTemplate"]) != "" {
		t.Errorf("a client allowed every built-in template = %v, want no default template", star)
	}
}

func TestAdmin_TemplatesMustExist(t *testing.T) {
	api := apitest.Start(t, nil)
	status, out := api.AdminDo(http.MethodPost, "/admin/v1/clients",
		obj{"name": "Mailer", "deviceTypes": []string{"EMAIL"}})
	view, _ := out["client"].(map[string]any)
	if status != http.StatusCreated || fmt.Sprintf("%v %v", view["templates"], view["defaultTemplate"]) !=
		"[demotemplate] demotemplate" {
		t.Fatalf("a sending client created without templates = %d %v; want the built-in default", status, out)
	}
	id, _ := out["clientId"].(string)
	path := "/admin/v1/clients/" + id

	status, out = api.AdminDo(http.MethodPost, "/admin/v1/clients",
		obj{"name": "Mailer", "deviceTypes": []string{"SMS"}, "templates": []string{}})
	if view, _ := out["client"].(map[string]any); status != http.StatusCreated ||
		fmtAny(view["defaultTemplate"]) != "demotemplate" {
		t.Errorf("a sending client created with an empty template list = %d %v; want the built-in default",
			status, out)
	}
	if status, out := api.AdminDo(http.MethodPatch, "/admin/v1/clients/mfa_nobody",
		obj{"templates": []string{"acme"}}); status != http.StatusNotFound {
		t.Errorf("templates of an unknown client = %d %v, want 404", status, out)
	}

	refused := []struct {
		method, path string
		body         obj
	}{
		{http.MethodPost, "/admin/v1/clients", obj{"name": "N", "deviceTypes": []string{"EMAIL"},
			"templates": []string{"nope"}}},
		{http.MethodPost, "/admin/v1/clients", obj{"name": "N", "deviceTypes": []string{"EMAIL"},
			"defaultTemplate": "nope"}},
		{http.MethodPatch, path, obj{"templates": []string{"demotemplate", "nope"}}},
		{http.MethodPatch, path, obj{"defaultTemplate": "acme"}},
	}
	for _, tt := range refused {
		if status, out := api.AdminDo(tt.method, tt.path, tt.body); status != http.StatusBadRequest ||
			!strings.Contains(fmtAny(out["message"]), "neither built in nor uploaded") {
			t.Errorf("%s %s %v = %d %v, want 400 naming the unknown template", tt.method, tt.path, tt.body,
				status, out)
		}
	}

	if status, out := api.AdminDo(http.MethodPut, path+"/templates/acme", obj{"files": acmeFiles}); status != 200 {
		t.Fatalf("upload = %d %v", status, out)
	}
	if status, out := api.AdminDo(http.MethodPatch, path, obj{"defaultTemplate": "acme"}); status != 200 {
		t.Errorf("default template after its upload = %d %v, want 200", status, out)
	}
}

// fmtAny is v as a string, or "" when it is not one.
func fmtAny(v any) string { s, _ := v.(string); return s }

// asList is v as a JSON array, or nil when it is not one.
func asList(v any) []any { l, _ := v.([]any); return l }

func TestAdmin_RepeatsAreStoredOnce(t *testing.T) {
	api := apitest.Start(t, nil)
	status, out := api.AdminDo(http.MethodPost, "/admin/v1/clients", obj{"name": "Twice",
		"scopes": []string{"otp:send", "otp:send"}, "deviceTypes": []string{"EMAIL", "SMS", "EMAIL"}})
	if status != http.StatusCreated {
		t.Fatalf("create = %d %v", status, out)
	}
	view, _ := out["client"].(map[string]any)
	if got := fmt.Sprint(view["scopes"], view["deviceTypes"]); got != "[otp:send] [EMAIL SMS]" {
		t.Errorf("scopes and deviceTypes = %s, want [otp:send] [EMAIL SMS]", got)
	}
	status, out = api.AdminDo(http.MethodPatch, "/admin/v1/clients/"+out["clientId"].(string),
		obj{"scopes": []string{"otp:validate", "otp:send", "otp:validate"}})
	if got := fmt.Sprint(out["scopes"]); status != http.StatusOK || got != "[otp:validate otp:send]" {
		t.Errorf("update = %d, scopes %s; want 200 [otp:validate otp:send]", status, got)
	}
}

func TestAdmin_EraseNeedsAKnownClient(t *testing.T) {
	api := apitest.Start(t, nil)
	status, out := api.AdminDo(http.MethodPost, "/admin/v1/users/erase",
		obj{"clientId": "mfa_unknown", "userName": "jdoe"})
	if status != http.StatusNotFound || out["code"] != "NOT_FOUND" {
		t.Errorf("erase for an unknown client = %d %v, want 404 NOT_FOUND", status, out)
	}
	status, out = api.AdminDo(http.MethodPost, "/admin/v1/limits/clear", obj{"userName": "jdoe"})
	if status != http.StatusBadRequest {
		t.Errorf("limits clear without a client = %d %v, want 400", status, out)
	}
}

// TestAdmin_ReplayStoppedShowsWhatItDid dead-letters an unreadable event
// and a real delivery, then takes the delivery stream away, so that the
// replay skips the first and fails on the second.
func TestAdmin_ReplayStoppedShowsWhatItDid(t *testing.T) {
	api := apitest.Start(t, nil)
	junk := nats.NewMsg(events.ChannelEmail.DLQSubject())
	junk.Data = []byte("not an event")
	junk.Header.Set(events.HeaderReason, "attempts-exhausted")
	if _, err := api.JS.PublishMsg(context.Background(), junk); err != nil {
		t.Fatal(err)
	}
	deadLetterAmong(t, api, 2)
	if err := api.JS.DeleteStream(context.Background(), events.StreamDelivery); err != nil {
		t.Fatal(err)
	}

	status, out := api.AdminDo(http.MethodPost, "/admin/v1/dlq/replay", obj{})
	report, _ := out["report"].(map[string]any)
	if status != http.StatusServiceUnavailable || out["code"] != "UNAVAILABLE" || report == nil {
		t.Fatalf("replay without the delivery stream = %d %v, want 503 with a report", status, out)
	}
	if len(asList(report["skipped"])) != 1 || len(asList(report["replayed"])) != 0 {
		t.Errorf("report = %v, want the unreadable dead letter skipped and none replayed", report)
	}
	_, out = api.AdminDo(http.MethodGet, "/admin/v1/dlq", nil)
	if len(asList(out["deadLetters"])) != 2 {
		t.Errorf("dead letters after the failed replay = %v, want both kept", out["deadLetters"])
	}
}

func TestAdmin_UpdateRefusesBadSettings(t *testing.T) {
	api := apitest.Start(t, nil)
	path := "/admin/v1/clients/" + api.ClientID
	_, before := api.AdminDo(http.MethodGet, path, nil)
	tests := []struct {
		name string
		body obj
	}{
		{"next line in name", obj{"name": "Acme\u0085Corp"}},
		{"line separator in name", obj{"name": "Acme\u2028Corp"}},
		{"bidi override in name", obj{"name": "Acme\u202eProC"}},
		{"name of 101 characters", obj{"name": strings.Repeat("é", 101)}},
		{"lifetime that overflows", obj{"policy": obj{"lifetimeSeconds": 36028797018964268}}},
		{"cooldown that overflows", obj{"policy": obj{"resendCooldownSeconds": -18446744073}}},
		{"default template *", obj{"defaultTemplate": "*"}},
		{"template name with a path", obj{"templates": []string{"../../etc/passwd"}}},
		{"empty template name", obj{"templates": []string{""}}},
		{"empty region", obj{"destinations": obj{"allowedCountries": []string{""}}}},
		{"unknown region", obj{"destinations": obj{"allowedCountries": []string{"ZZ"}}}},
		{"non-geographic default region", obj{"destinations": obj{"defaultRegion": "001"}}},
		{"hard stop on a rate limit", obj{"limits": obj{"user": obj{"max": 1, "windowSeconds": 60,
			"hardStop": 5}}}},
		{"lifetime over the maximum", obj{"policy": obj{"lifetimeSeconds": 600, "maxLifetimeSeconds": 60}}},
		{"bidi override in issuer", obj{"totp": obj{"issuer": "Bank\u202egnp.live"}}},
		{"NUL in issuer", obj{"totp": obj{"issuer": "Bank\u0000"}}},
		{"tab in issuer", obj{"totp": obj{"issuer": "Bank\tCorp"}}},
		{"colon in issuer", obj{"totp": obj{"issuer": "Bank:Corp"}}},
		{"issuer of 65 characters", obj{"totp": obj{"issuer": strings.Repeat("é", 65)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, out := api.AdminDo(http.MethodPatch, path, tt.body); status != http.StatusBadRequest {
				t.Errorf("PATCH %v = %d %v, want 400", tt.body, status, out)
			}
		})
	}
	if _, after := api.AdminDo(http.MethodGet, path, nil); after["updatedAt"] != before["updatedAt"] {
		t.Errorf("a refused update changed the client:\nbefore %v\nafter  %v", before, after)
	}

	ok := obj{"name": strings.Repeat("é", 100), "totp": obj{"issuer": strings.Repeat("é", 64)},
		"destinations": obj{"defaultRegion": "GB", "allowedCountries": []string{"001", "us"}}}
	if status, out := api.AdminDo(http.MethodPatch, path, ok); status != http.StatusOK {
		t.Errorf("PATCH %v = %d %v, want 200", ok, status, out)
	}
}

func TestAdmin_AuditNamesTargetsAndActors(t *testing.T) {
	api := apitest.Start(t, nil)
	send := func(actor, path string, body obj) {
		t.Helper()
		req := api.AdminRequest(http.MethodPost, "/admin/v1"+path, body)
		req.Header.Set("X-Mfa-Actor", actor)
		if r := api.Send(req); r.Status >= 300 {
			t.Fatalf("POST %s = %d %s", path, r.Status, r.Body)
		}
	}
	send("ops-\u00e9\u00e9\u00e9", "/users/erase", obj{"clientId": api.ClientID, "userName": "jane.doe"})
	send("ops\u0085x", "/limits/clear", obj{"clientId": api.ClientID, "userName": "jdoe"})
	send("ops", "/dlq/replay", obj{"channel": "sms", "dryRun": true})

	_, out := api.AdminDo(http.MethodGet, "/admin/v1/audit?limit=3", nil)
	entries := asList(out["entries"])
	if len(entries) != 3 {
		t.Fatalf("audit = %v, want 3 entries", out)
	}
	want := []struct{ actor, target string }{
		{"ops", "channel=sms since= authId= dryRun=true"},
		{"admin-token", "clientId=" + api.ClientID + " user=true destinations=0"},
		{"ops-\u00e9\u00e9\u00e9", "clientId=" + api.ClientID},
	}
	for i, w := range want {
		e, _ := entries[i].(map[string]any)
		if e["actor"] != w.actor || e["target"] != w.target {
			t.Errorf("entry %d = %v, want actor %q and target %q", i, e, w.actor, w.target)
		}
	}
	if strings.Contains(string(mustJSON(t, out)), "jane.doe") {
		t.Error("the audit log keeps the name of an erased user")
	}
}

func TestAdmin_AuditEscapesControls(t *testing.T) {
	api := apitest.Start(t, nil)
	req := api.AdminRequest(http.MethodDelete,
		"/admin/v1/clients/"+api.ClientID+"/domains/a%0Aforged%1B%5B2J", nil)
	api.Send(req)
	_, out := api.AdminDo(http.MethodGet, "/admin/v1/audit?limit=1", nil)
	entries := asList(out["entries"])
	if len(entries) != 1 {
		t.Fatalf("audit = %v, want 1 entry", out)
	}
	e, _ := entries[0].(map[string]any)
	target, _ := e["target"].(string)
	if want := `domain="a\nforged\x1b[2J"`; !strings.HasSuffix(target, want) {
		t.Errorf("target = %q, want it to end in %s", target, want)
	}
}

func TestAdmin_StoreDownAnswers503(t *testing.T) {
	api := apitest.Start(t, nil)
	api.CloseStore()
	tests := []struct {
		method, path string
		body         obj
	}{
		{http.MethodGet, "/admin/v1/audit", nil},
		{http.MethodPost, "/admin/v1/limits/clear", obj{"clientId": api.ClientID, "userName": "jdoe"}},
		{http.MethodPost, "/admin/v1/users/erase", obj{"clientId": api.ClientID, "userName": "jdoe"}},
		{http.MethodPatch, "/admin/v1/clients/" + api.ClientID, obj{"name": "Renamed"}},
		{http.MethodPost, "/admin/v1/clients", obj{"name": "New", "deviceTypes": []string{"EMAIL"}}},
	}
	for _, tt := range tests {
		if status, out := api.AdminDo(tt.method, tt.path, tt.body); status != http.StatusServiceUnavailable ||
			out["code"] != "UNAVAILABLE" {
			t.Errorf("%s %s with the store closed = %d %v, want 503 UNAVAILABLE", tt.method, tt.path, status, out)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAdmin_DomainDeleteRacesSenderSwitch switches the sender onto a
// domain while deleting it: one of the two must lose, so that a sender
// never names a domain the client no longer has.
func TestAdmin_DomainDeleteRacesSenderSwitch(t *testing.T) {
	api := apitest.Start(t, nil)
	path := "/admin/v1/clients/" + api.ClientID
	key := ed25519PEM(t)
	for i := range 40 {
		domain := "race" + strconv.Itoa(i) + ".example"
		if status, out := api.AdminDo(http.MethodPost, path+"/domains",
			obj{"domain": domain, "selector": "s1", "privateKeyPem": key}); status != http.StatusCreated {
			t.Fatalf("add %s = %d %v", domain, status, out)
		}
		var patched, deleted int
		var wg sync.WaitGroup
		wg.Go(func() {
			patched, _ = api.AdminDo(http.MethodPatch, path,
				obj{"emailSender": obj{"fromAddress": "n@" + domain}})
		})
		wg.Go(func() { deleted, _ = api.AdminDo(http.MethodDelete, path+"/domains/"+domain, nil) })
		wg.Wait()
		if patched == http.StatusOK && deleted == http.StatusNoContent {
			t.Fatalf("round %d: the sender moved onto %s and the domain was deleted", i, domain)
		}
		if status, out := api.AdminDo(http.MethodPatch, path, obj{"emailSender": obj{}}); status != 200 {
			t.Fatalf("clearing the sender = %d %v", status, out)
		}
	}
}

func TestAdmin_SegmentCapFitsTheTemplates(t *testing.T) {
	api := apitest.Start(t, nil)
	path := "/admin/v1/clients/" + api.ClientID
	long := maps.Clone(acmeFiles)
	long["sms.txt"] = "{{.Code}} is your code. " + strings.Repeat("Never share it. ", 12)
	if status, out := api.AdminDo(http.MethodPut, path+"/templates/long", obj{"files": long}); status != 200 {
		t.Fatalf("upload = %d %v", status, out)
	}
	status, out := api.AdminDo(http.MethodPatch, path, obj{"smsMaxSegments": 1})
	if status != http.StatusBadRequest || !strings.Contains(fmtAny(out["message"]), "template long") {
		t.Errorf("cap below the template = %d %v, want 400 naming it", status, out)
	}
	if status, out := api.AdminDo(http.MethodPatch, path, obj{"smsMaxSegments": 2}); status != 200 {
		t.Errorf("cap the template fits = %d %v, want 200", status, out)
	}

	// A locale's text counts as much as the default one's.
	other, _ := api.CreateClient(nil)
	otherPath := "/admin/v1/clients/" + other
	localised := maps.Clone(acmeFiles)
	localised["pt/sms.txt"] = "{{.Code}} é o seu código. " + strings.Repeat("Não o partilhe. ", 12)
	if status, out := api.AdminDo(http.MethodPut, otherPath+"/templates/pt", obj{"files": localised}); status != 200 {
		t.Fatalf("upload = %d %v", status, out)
	}
	status, out = api.AdminDo(http.MethodPatch, otherPath, obj{"smsMaxSegments": 1})
	if status != http.StatusBadRequest || !strings.Contains(fmtAny(out["message"]), "pt/sms.txt") {
		t.Errorf("cap below a locale's text = %d %v, want 400 naming pt/sms.txt", status, out)
	}

	// The cap and the templates of a new client are checked together.
	status, out = api.AdminDo(http.MethodPost, "/admin/v1/clients", obj{"name": "Capped",
		"deviceTypes": []string{"SMS"}, "templates": []string{"demotemplate"}, "smsMaxSegments": 1})
	if status != http.StatusCreated {
		t.Errorf("a cap the built-in template fits = %d %v, want 201", status, out)
	}
}
