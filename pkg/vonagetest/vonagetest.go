// Package vonagetest is an HTTP server on loopback that speaks the Vonage
// SMS API (POST /sms/json with form fields, a JSON reply with a status per
// message part), for testing the SMS worker against the real protocol.
package vonagetest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Received is one accepted or refused request.
type Received struct {
	APIKey    string
	APISecret string
	From      string
	To        string
	Text      string
	ClientRef string
	// StatusReportReq and Callback ask for a delivery receipt.
	StatusReportReq string
	Callback        string
	At              time.Time
}

// Reply scripts one answer. A zero Reply is a success.
type Reply struct {
	// HTTPStatus, when set and not 200, is answered with an empty body.
	HTTPStatus int
	// Status is the per-message status ("0" accepted, "3" invalid
	// parameters, ...); ErrorText goes with it.
	Status    string
	ErrorText string
	// NoMessages answers 200 with an empty messages array.
	NoMessages bool
}

// Server is a fake Vonage SMS API. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server
	// Key and Secret are the credentials it accepts.
	Key, Secret string

	mu       sync.Mutex
	script   []Reply
	received []Received
	accepted []Received
	next     int
}

// Start starts a server; it stops when the test ends. Its BaseURL is what
// MFA_VONAGE_BASE_URL takes.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{Key: "abcd1234", Secret: "test-secret"}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

// BaseURL is the API base including /sms.
func (s *Server) BaseURL() string { return s.URL + "/sms" }

// Script queues replies for the next requests; after them, every request
// succeeds.
func (s *Server) Script(replies ...Reply) {
	s.mu.Lock()
	s.script = append(s.script, replies...)
	s.mu.Unlock()
}

// Received returns every request that reached the endpoint.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Accepted returns the requests that were answered with success.
func (s *Server) Accepted() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.accepted...)
}

// WaitAccepted polls until n messages were accepted, failing t on timeout.
func (s *Server) WaitAccepted(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := s.Accepted()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("vonagetest: %d messages accepted after %s, want %d", len(got), timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type message struct {
	To               string `json:"to,omitempty"`
	MessageID        string `json:"message-id,omitempty"`
	Status           string `json:"status"`
	ErrorText        string `json:"error-text,omitempty"`
	RemainingBalance string `json:"remaining-balance,omitempty"`
	MessagePrice     string `json:"message-price,omitempty"`
	Network          string `json:"network,omitempty"`
}

type reply struct {
	MessageCount string    `json:"message-count"`
	Messages     []message `json:"messages"`
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/sms/json" {
		http.NotFound(w, r)
		return
	}

	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}

	rec := Received{APIKey: r.PostForm.Get("api_key"), APISecret: r.PostForm.Get("api_secret"),
		From: r.PostForm.Get("from"), To: r.PostForm.Get("to"), Text: r.PostForm.Get("text"),
		ClientRef: r.PostForm.Get("client-ref"), StatusReportReq: r.PostForm.Get("status-report-req"),
		Callback: r.PostForm.Get("callback"), At: time.Now()}
	s.mu.Lock()
	s.received = append(s.received, rec)
	var rp Reply
	if len(s.script) > 0 {
		rp, s.script = s.script[0], s.script[1:]
	}
	if rp == (Reply{}) && (rec.APIKey != s.Key || rec.APISecret != s.Secret) {
		rp = Reply{Status: "4", ErrorText: "Bad Credentials"}
	}
	if rp == (Reply{}) {
		s.accepted = append(s.accepted, rec)
		s.next++
	}

	id := strconv.Itoa(s.next)
	s.mu.Unlock()
	s.answer(w, rec, rp, id)
}

func (s *Server) answer(w http.ResponseWriter, rec Received, rp Reply, id string) {
	if rp.HTTPStatus != 0 && rp.HTTPStatus != http.StatusOK {
		w.WriteHeader(rp.HTTPStatus)
		return
	}

	w.Header().Set("Content-Type", "application/json")
	out := reply{MessageCount: "1", Messages: []message{}}
	switch {
	case rp.NoMessages:
		out.MessageCount = "0"
	case rp.Status != "" && rp.Status != "0":
		out.Messages = append(out.Messages, message{Status: rp.Status, ErrorText: rp.ErrorText})
	default:
		out.Messages = append(out.Messages, message{To: rec.To, MessageID: "vonage-" + id, Status: "0",
			RemainingBalance: "10.00", MessagePrice: "0.05", Network: "12345"})
	}
	_ = json.NewEncoder(w).Encode(out)
}
