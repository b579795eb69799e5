// Package apitest starts a complete mfa-api in the test process (embedded
// NATS with JetStream on a random port, bbolt in a temporary directory,
// both listeners on random loopback ports) and drives it over HTTP the way
// an application would. Every response is checked against the OpenAPI
// document of its listener: the public one, or the admin one, which must
// list every admin route the tests call.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/envconf"
	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/pkg/natsembed"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/admin"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/app"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/config"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/httpapi"
)

// API is a running mfa-api under test.
type API struct {
	t        testing.TB
	App      *app.App
	Config   config.Config
	NATS     *server.Server
	JS       jetstream.JetStream
	Delivery *keyring.AEAD
	Logs     *SyncBuffer
	Base     string
	Admin    string
	// ClientID and Secret are a client allowed everything.
	ClientID, Secret string
	http             *http.Client
	spec, adminSpec  *validator
	// SkipSpec turns off the OpenAPI check of answers, for benchmarks,
	// where it would cost more than the request.
	SkipSpec bool
	// storeClosed is set by CloseStore.
	storeClosed atomic.Bool
}

// CloseStore closes the bbolt store under the running API, as a failed
// disk would leave it: every write is refused from then on.
func (a *API) CloseStore() {
	a.t.Helper()
	a.storeClosed.Store(true)
	if err := a.App.Store().Close(); err != nil {
		a.t.Fatal(err)
	}
}

// Start starts an API; env overrides the test defaults (MFA_* names). It
// stops when the test ends.
func Start(t testing.TB, env map[string]string) *API {
	t.Helper()
	ns := natsembed.StartForTest(t)
	vars := map[string]string{
		"MFA_DATA_DIR": t.TempDir(), "MFA_HTTP_ADDR": "127.0.0.1:0", "MFA_ADMIN_ADDR": "127.0.0.1:0",
		"MFA_ISSUER": "http://mfa.test", "MFA_ADMIN_TOKEN": "test-admin-token-0123456789",
		"MFA_NATS_URL": ns.ClientURL(), "MFA_HMAC_KEYS": keyring.Generate("h1", 32),
		"MFA_DELIVERY_KEYS": keyring.Generate("d1", 32), "MFA_DATA_KEYS": keyring.Generate("k1", 32),
		"MFA_PUBLISH_TIMEOUT": "1s", "MFA_LOG_LEVEL": "debug",
	}

	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(envconf.New(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }))
	if err != nil {
		t.Fatal(err)
	}
	logs := &SyncBuffer{}
	log, _ := logging.New(logs, "debug", "json")
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var api *API
	t.Cleanup(func() {
		cancel()
		// After CloseStore, the shutdown's own close of the store fails.
		if err := <-done; err != nil && !api.storeClosed.Load() {
			t.Errorf("app.Run: %v", err)
		}
	})
	api = &API{t: t, App: a, Config: cfg, NATS: ns, Logs: logs, Base: "http://" + a.PublicAddr(),
		Admin: "http://" + a.AdminAddr(), http: &http.Client{Timeout: 10 * time.Second},
		spec:      loadSpec(t, "the public OpenAPI document", httpapi.OpenAPI, false),
		adminSpec: loadSpec(t, "the admin OpenAPI document", admin.OpenAPI, true)}
	api.JS = connect(t, ns.ClientURL())
	api.Delivery, _ = keyring.NewAEAD(cfg.DeliveryKeys)
	api.ClientID, api.Secret = api.CreateClient(nil)

	return api
}

func connect(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	_, js := natsembed.ConnectForTest(t, url)
	return js
}

// CreateClient creates a client through the admin API; fields override the
// defaults (every scope and device type, demotemplate).
func (a *API) CreateClient(fields map[string]any) (id, secret string) {
	a.t.Helper()
	body := map[string]any{"name": "Test App", "deviceTypes": []string{"EMAIL", "SMS", "TOTP"},
		"templates": []string{"demotemplate"}}
	for k, v := range fields {
		body[k] = v
	}
	status, out := a.AdminDo(http.MethodPost, "/admin/v1/clients", body)
	if status != http.StatusCreated {
		a.t.Fatalf("creating client: %d %v", status, out)
	}
	return out["clientId"].(string), out["clientSecret"].(string)
}

// AdminRequest returns a request to the admin API with the admin token and
// body as JSON (none when nil).
func (a *API) AdminRequest(method, path string, body any) *http.Request {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}

	req, err := http.NewRequest(method, a.Admin+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.Config.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	return req
}

// AdminDo calls the admin API, checks the answer against the admin OpenAPI
// document and decodes it; an answer that is not a JSON object decodes
// empty.
func (a *API) AdminDo(method, path string, body any) (int, map[string]any) {
	a.t.Helper()
	resp := a.Send(a.AdminRequest(method, path, body))
	if resp.JSON == nil {
		resp.JSON = map[string]any{}
	}
	return resp.Status, resp.JSON
}

// Token gets an access token for the client with scope ("" for all).
func (a *API) Token(clientID, secret, scope string) string {
	a.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	req, _ := http.NewRequest(http.MethodPost, a.Base+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp := a.Send(req)
	if resp.Status != http.StatusOK {
		a.t.Fatalf("token: %d %s", resp.Status, resp.Body)
	}
	return resp.JSON["access_token"].(string)
}

// Response is a decoded answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// Code returns the error code of an error answer.
func (r Response) Code() string { s, _ := r.JSON["code"].(string); return s }

// Send sends req, checks the answer against the OpenAPI document of the
// listener it went to and decodes it.
func (a *API) Send(req *http.Request) Response {
	a.t.Helper()
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}

	resp, err := a.http.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	if !a.SkipSpec {
		a.specFor(req).check(a.t, req, resp, body)
	}
	out := Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	_ = json.Unmarshal(body, &out.JSON)

	return out
}

// specFor returns the validator of the listener req goes to.
func (a *API) specFor(req *http.Request) *validator {
	if req.URL.Scheme+"://"+req.URL.Host == a.Admin {
		return a.adminSpec
	}
	return a.spec
}

// Do sends a JSON request with a bearer token.
func (a *API) Do(method, path, token string, body any) Response {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, a.Base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return a.Send(req)
}

// Deliveries returns every delivery event in the stream, opened.
func (a *API) Deliveries() []Opened {
	a.t.Helper()
	cons, err := a.JS.OrderedConsumer(context.Background(), events.StreamDelivery, jetstream.OrderedConsumerConfig{})
	if err != nil {
		a.t.Fatal(err)
	}
	var out []Opened
	for {
		batch, err := cons.FetchNoWait(500)
		if err != nil {
			a.t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			d, err := events.UnmarshalDelivery(m.Data())
			if err != nil {
				a.t.Fatal(err)
			}
			s, err := d.Open(a.Delivery)
			if err != nil {
				a.t.Fatal(err)
			}
			out = append(out, Opened{Delivery: d, Secret: s, Raw: m.Data(), Header: m.Headers()})
		}

		if n == 0 {
			return out
		}
	}
}

// Opened is a delivery event with its secret opened.
type Opened struct {
	Delivery events.Delivery
	Secret   events.Secret
	Raw      []byte
	Header   nats.Header
}

// Code returns the latest code published for authID, failing when there
// is none.
func (a *API) Code(authID string) string {
	a.t.Helper()
	code := ""
	for _, o := range a.Deliveries() {
		if o.Delivery.AuthID == authID {
			code = o.Secret.Code
		}
	}

	if code == "" {
		a.t.Fatalf("no delivery published for %s", authID)
	}
	return code
}

// StreamMessages returns how many messages MFA_DELIVERY holds.
func (a *API) StreamMessages() uint64 {
	a.t.Helper()
	s, err := a.JS.Stream(context.Background(), events.StreamDelivery)
	if err != nil {
		a.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		a.t.Fatal(err)
	}
	return info.State.Msgs
}

// Challenges returns how many challenges the store holds.
func (a *API) Challenges() int {
	a.t.Helper()
	n, err := a.App.Store().CountChallenges()
	if err != nil {
		a.t.Fatal(err)
	}
	return n
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes, for logs.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
