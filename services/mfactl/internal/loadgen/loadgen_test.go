package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckTarget_LoopbackOnly(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		remote bool
		want   error
	}{
		{name: "ipv4 loopback", url: "http://127.0.0.1:8080/v1"},
		{name: "other loopback", url: "http://127.3.4.5/"},
		{name: "ipv6 loopback", url: "http://[::1]:8080"},
		{name: "localhost", url: "https://LOCALHOST:8443"},
		{name: "private address", url: "http://10.0.0.1", want: ErrRemoteTarget},
		{name: "name", url: "http://mfa.example.com", want: ErrRemoteTarget},
		{name: "name allowed", url: "http://mfa.example.com", remote: true},
		{name: "no scheme", url: "127.0.0.1:8080", want: ErrBadURL},
		{name: "ftp", url: "ftp://127.0.0.1", want: ErrBadURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CheckTarget(tt.url, tt.remote)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("CheckTarget(%q, %v) = %v, want %v", tt.url, tt.remote, err, tt.want)
			}
		})
	}
}

func TestPercentile_SortedSamples(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{
		{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond},
		{1, 100 * time.Millisecond}, {0.001, time.Millisecond},
	}
	for _, tt := range tests {
		if got := Percentile(s, tt.p); got != tt.want {
			t.Errorf("Percentile(1..100ms, %v) = %s, want %s", tt.p, got, tt.want)
		}
	}
	if got := Percentile(nil, 0.5); got != 0 {
		t.Errorf("Percentile(nil) = %s, want 0", got)
	}
}

func TestRun_RefusesUnbounded(t *testing.T) {
	for _, o := range []Options{{}, {Duration: 2 * MaxDuration}, {Duration: time.Second, Requests: -1},
		{Duration: time.Second, Concurrency: MaxConcurrency + 1}} {
		if _, err := Run(context.Background(), "x", o, nil); !errors.Is(err, ErrBounds) {
			t.Errorf("Run(%+v) = %v, want ErrBounds", o, err)
		}
	}
}

func TestRun_StopsAtRequestCount(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	client := NewHTTPClient(4, time.Second)
	res, err := Run(context.Background(), "ping", Options{Concurrency: 4, Duration: 10 * time.Second,
		Requests: 50}, Ping(client, http.MethodGet, srv.URL, "", nil, http.StatusNoContent))
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 50 || res.OK != 50 || res.Statuses["204"] != 50 {
		t.Errorf("requests %d ok %d statuses %v, want 50 of 204", res.Requests, res.OK, res.Statuses)
	}
	if res.Latency.Max <= 0 || res.PerSecond <= 0 {
		t.Errorf("latency %+v per second %v, want positive", res.Latency, res.PerSecond)
	}
}

func TestRun_PacedRate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	client := NewHTTPClient(8, time.Second)
	res, err := Run(context.Background(), "paced", Options{Concurrency: 8, Duration: time.Second,
		Rate: 200}, Ping(client, http.MethodGet, srv.URL, "", nil, http.StatusOK))
	if err != nil {
		t.Fatal(err)
	}
	if res.OK < 150 || res.OK > 210 {
		t.Errorf("paced at 200/s for 1s: %d answers, want about 200", res.OK)
	}
}

// fakeOTP answers validations like mfa-api: code 123456 of each authId
// validates once; anything else is 400 until then.
type fakeOTP struct {
	mu        sync.Mutex
	validated map[string]bool
	wrong     int
}

func (f *fakeOTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/oauth2/token" {
		_, _ = w.Write([]byte(`{"access_token":"t","expires_in":900}`))
		return
	}
	if r.Header.Get("Authorization") != "Bearer t" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var body struct{ OTP string }
	_ = json.NewDecoder(r.Body).Decode(&body)
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/otp/"), "/validate")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.validated[id]:
		w.WriteHeader(http.StatusConflict)
	case body.OTP == "123456":
		f.validated[id] = true
	default:
		f.wrong++
		w.WriteHeader(http.StatusBadRequest)
	}
}

func TestValidate_WrongThenRightPerChallenge(t *testing.T) {
	fake := &fakeOTP{validated: map[string]bool{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	chs, err := ReadChallenges(strings.NewReader("a 123456\n\nb 123456\nc 123456\n"))
	if err != nil {
		t.Fatal(err)
	}
	client := NewHTTPClient(3, time.Second)
	tokens := NewTokens(client, srv.URL, Credentials{ID: "id", Secret: "s"})
	res, err := Run(context.Background(), "validate", Options{Concurrency: 3, Duration: 10 * time.Second},
		Validate(client, srv.URL, tokens, chs, 2))
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 9 || res.Statuses["400"] != 6 || res.Statuses["200"] != 3 {
		t.Errorf("ok %d statuses %v, want 6 wrong and 3 right, all expected", res.OK, res.Statuses)
	}
	if len(fake.validated) != 3 || fake.wrong != 6 {
		t.Errorf("server saw %d validated and %d wrong, want 3 and 6", len(fake.validated), fake.wrong)
	}
}

func TestWrongCode_DiffersFromRight(t *testing.T) {
	for step := range 9 {
		if got := wrongCode("123450", step); got == "123450" || len(got) != 6 {
			t.Errorf("wrongCode(123450, %d) = %q", step, got)
		}
	}
}

func TestValidateBody_AsEncodingJSONWritesIt(t *testing.T) {
	for _, code := range []string{"123456", "000000", "", "12a4", `"\<`, "\u00e4\x01"} {
		want, err := json.Marshal(map[string]string{"otp": code})
		if err != nil {
			t.Fatal(err)
		}
		got, err := validateBody(code)
		if err != nil || string(got) != string(want) {
			t.Errorf("validateBody(%q) = %s, %v; want %s", code, got, err, want)
		}
	}
}

func TestAuthIDOf_CompactOrNot(t *testing.T) {
	tests := []struct {
		name, body, want string
		err              bool
	}{
		{"compact", `{"authId":"ch_01J9","expiresAt":"2026-01-01T00:00:00Z"}`, "ch_01J9", false},
		{"after other fields", `{"status":"SUCCESS","authId":"x-1"}`, "x-1", false},
		{"indented", "{\n  \"authId\": \"ch_2\"\n}", "ch_2", false},
		{"escaped", `{"authId":"a\u002fb"}`, "a/b", false},
		{"empty", `{"authId":""}`, "", true},
		{"missing", `{"status":"SUCCESS"}`, "", true},
		{"not json", `<html>`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := authIDOf([]byte(tt.body))
			if got != tt.want || (err != nil) != tt.err {
				t.Errorf("authIDOf(%s) = %q, %v; want %q, error %v", tt.body, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestOTPBody_IsTheRequestOfEachUser(t *testing.T) {
	// The request as encoding/json writes it, field by field.
	type request struct {
		UserName         string `json:"userName"`
		Email            string `json:"email"`
		DeviceType       string `json:"deviceType"`
		ExpiresInSeconds int    `json:"expiresInSeconds,omitempty"`
		TemplateName     string `json:"templateName"`
	}
	tests := []struct {
		name string
		o    OTPOptions
	}{
		{"defaults", OTPOptions{Prefix: "bench", Domain: "example.com", Template: "demotemplate"}},
		{"escapes", OTPOptions{Prefix: `q"u\o<te>`, Domain: "ex\u00e4mple.org", Template: "t&x",
			ExpiresIn: 90}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := newOTPBody(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int64{1, 42, 1234567890123} {
				user := tt.o.Prefix + "-" + strconv.FormatInt(n, 10)
				want, err := json.Marshal(request{UserName: user, Email: user + "@" + tt.o.Domain,
					DeviceType: "EMAIL", ExpiresInSeconds: tt.o.ExpiresIn, TemplateName: tt.o.Template})
				if err != nil {
					t.Fatal(err)
				}
				if got := b.body(n); string(got) != string(want) {
					t.Errorf("body %d = %s, want %s", n, got, want)
				}
			}
		})
	}
}

func TestCreateOTP_OneUserPerRequestRecorded(t *testing.T) {
	var mu sync.Mutex
	users := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/token" {
			_, _ = w.Write([]byte(`{"access_token":"t","expires_in":900}`))
			return
		}
		var body struct{ UserName string }
		if r.Header.Get("Authorization") != "Bearer t" || json.NewDecoder(r.Body).Decode(&body) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		users[body.UserName] = true
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"authId":"id-` + body.UserName + `","status":"SUCCESS"}`))
	}))
	defer srv.Close()
	var lines strings.Builder
	rec := NewRecorder(&lines)
	client := NewHTTPClient(4, time.Second)
	tokens := NewTokens(client, srv.URL, Credentials{ID: "id", Secret: "s"})
	scenario, err := CreateOTP(client, srv.URL, tokens, OTPOptions{Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), "otp",
		Options{Concurrency: 4, Duration: 10 * time.Second, Requests: 40}, scenario)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	if res.OK != 40 || len(users) != 40 {
		t.Fatalf("%d created for %d users, want 40 and 40", res.OK, len(users))
	}
	recorded := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(lines.String()), "\n") {
		f := strings.Split(line, "\t")
		user := strings.TrimSuffix(f[min(1, len(f)-1)], "@example.com")
		if len(f) != 3 || f[0] != "id-"+user || !users[user] {
			t.Errorf("record %q does not match a request", line)
		}
		recorded[user] = true
	}
	if len(recorded) != 40 {
		t.Errorf("%d users recorded, want 40", len(recorded))
	}
}

func TestRun_SamplesAreTheMeasuredLatencies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(2 * time.Millisecond)
	}))
	defer srv.Close()
	client := NewHTTPClient(2, time.Second)
	run := func(t *testing.T, keep bool) *Result {
		t.Helper()
		res, err := Run(context.Background(), "samples", Options{Concurrency: 2,
			Duration: 10 * time.Second, Requests: 30, Samples: keep},
			Ping(client, http.MethodGet, srv.URL, "", nil, http.StatusOK))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	t.Run("not asked", func(t *testing.T) {
		if res := run(t, false); res.SamplesMicros != nil {
			t.Errorf("samples kept without asking: %d", len(res.SamplesMicros))
		}
	})
	t.Run("asked", func(t *testing.T) {
		res := run(t, true)
		s := res.SamplesMicros
		if len(s) != res.Requests || res.Requests != 30 || !slices.IsSorted(s) {
			t.Fatalf("%d samples for %d requests (sorted %v), want 30 in order",
				len(s), res.Requests, slices.IsSorted(s))
		}
		// Latency rounds to the µs as the samples do.
		if top := float64(s[len(s)-1]) / 1e3; s[0] < 2000 || top != res.Latency.Max {
			t.Errorf("samples %d..%d µs, want from 2000 to the max %.3f ms",
				s[0], s[len(s)-1], res.Latency.Max)
		}
	})
}

func TestTokens_FetchOnceAndRenew(t *testing.T) {
	var mu sync.Mutex
	fetched := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		fetched++
		n := fetched
		mu.Unlock()
		time.Sleep(20 * time.Millisecond) // let the other callers pile up
		_, _ = w.Write([]byte(`{"access_token":"t` + strconv.Itoa(n) + `","expires_in":100}`))
	}))
	defer srv.Close()
	tokens := NewTokens(NewHTTPClient(4, time.Second), srv.URL, Credentials{ID: "id", Secret: "s"})
	var clock atomic.Int64
	start := time.Now()
	tokens.now = func() time.Time { return start.Add(time.Duration(clock.Load())) }

	get := func() map[string]int {
		seen := map[string]int{}
		var wg sync.WaitGroup
		var smu sync.Mutex
		for range 16 {
			wg.Go(func() {
				tok, err := tokens.Get(context.Background())
				if err != nil {
					t.Error(err)
				}
				smu.Lock()
				seen[tok]++
				smu.Unlock()
			})
		}
		wg.Wait()
		return seen
	}
	if seen := get(); len(seen) != 1 || seen["t1"] != 16 {
		t.Fatalf("16 callers at once saw %v, want t1 for all, fetched once", seen)
	}
	clock.Store(int64(79 * time.Second)) // not yet four fifths of the 100 s lifetime
	if seen := get(); len(seen) != 1 || seen["t1"] != 16 {
		t.Fatalf("before renewal time callers saw %v, want t1 for all", seen)
	}
	clock.Store(int64(81 * time.Second)) // past four fifths
	if seen := get(); len(seen) != 1 || seen["t2"] != 16 {
		t.Fatalf("after renewal time callers saw %v, want t2 for all", seen)
	}
	mu.Lock()
	defer mu.Unlock()
	if fetched != 2 {
		t.Errorf("fetched %d tokens, want 2", fetched)
	}
}
