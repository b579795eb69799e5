package worker

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/pkg/natsembed"
)

// fakeSender answers each call from a script, then succeeds.
type fakeSender struct {
	mu     sync.Mutex
	script []error
	sent   []events.Secret
	calls  int
}

func (f *fakeSender) Send(_ context.Context, _ *events.Delivery, s events.Secret) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(f.script) > 0 {
		err := f.script[0]
		f.script = f.script[1:]
		if err != nil {
			return "", err
		}
	}
	f.sent = append(f.sent, s)
	return "provider-1", nil
}

func (f *fakeSender) counts() (calls, sent int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, len(f.sent)
}

type harness struct {
	t    *testing.T
	js   jetstream.JetStream
	ring *keyring.AEAD
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	srv := natsembed.StartForTest(t)
	_, js := natsembed.ConnectForTest(t, srv.ClientURL())
	ctx := context.Background()
	if err := events.EnsureStreams(ctx, js, events.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := events.EnsureBuckets(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.NewAEAD(keyring.Generate("d1", 32))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, js: js, ring: ring}
}

// run starts a worker with test-speed timings and stops it at cleanup.
func (h *harness) run(sender Sender, tune func(*Config)) {
	h.t.Helper()
	cfg := Config{Channel: events.ChannelEmail, Concurrency: 4, MaxDeliver: 4,
		Backoff: []time.Duration{20 * time.Millisecond}, AckWait: 2 * time.Second,
		SendTimeout: time.Second, ShutdownTimeout: time.Second}
	if tune != nil {
		tune(&cfg)
	}
	w := New(cfg, h.js, h.ring, sender, logging.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	if err := w.Setup(ctx); err != nil {
		h.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("Run: %v", err)
		}
	})
}

func (h *harness) publish(authID string, expiresIn time.Duration) *events.Delivery {
	h.t.Helper()
	d := &events.Delivery{AuthID: authID, ClientID: "c1", Channel: events.ChannelEmail, Generation: 1,
		Template: "demotemplate", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(expiresIn)}
	if err := d.Seal(h.ring, events.Secret{Code: "123456", Destination: "jon@example.com"}); err != nil {
		h.t.Fatal(err)
	}
	data, err := d.Marshal()
	if err != nil {
		h.t.Fatal(err)
	}
	msg := nats.NewMsg(d.Channel.DeliverySubject())
	msg.Data = data
	msg.Header.Set(events.HeaderMsgID, d.MsgID())
	if _, err := h.js.PublishMsg(context.Background(), msg); err != nil {
		h.t.Fatal(err)
	}
	return d
}

// statuses polls MFA_STATUS until want states arrived for authID.
func (h *harness) statuses(authID string, want int) []events.State {
	h.t.Helper()
	var states []events.State
	for _, st := range h.statusEvents(authID, want) {
		states = append(states, st.State)
	}
	return states
}

// statusEvents polls MFA_STATUS until want events arrived for authID.
func (h *harness) statusEvents(authID string, want int) []events.Status {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got []events.Status
		cons, err := h.js.OrderedConsumer(context.Background(), events.StreamStatus, jetstream.OrderedConsumerConfig{})
		if err != nil {
			h.t.Fatal(err)
		}
		batch, err := cons.FetchNoWait(1000)
		if err != nil {
			h.t.Fatal(err)
		}
		for m := range batch.Messages() {
			st, err := events.UnmarshalStatus(m.Data())
			if err == nil && st.AuthID == authID {
				got = append(got, st)
			}
		}
		if len(got) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dlq returns the dead letters stored so far.
func (h *harness) dlq() []jetstream.Msg {
	h.t.Helper()
	cons, err := h.js.OrderedConsumer(context.Background(), events.StreamDLQ, jetstream.OrderedConsumerConfig{})
	if err != nil {
		h.t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(100)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []jetstream.Msg
	for m := range batch.Messages() {
		out = append(out, m)
	}
	return out
}

func TestWorker_Sends(t *testing.T) {
	h := newHarness(t)
	fs := &fakeSender{}
	h.run(fs, nil)
	d := h.publish("a-1", time.Minute)
	if got := h.statuses("a-1", 1); len(got) != 1 || got[0] != events.StateSent {
		t.Fatalf("statuses = %v, want [sent]", got)
	}
	if _, err := mustKV(t, h.js).Get(context.Background(), events.SentKey(d)); err != nil {
		t.Errorf("sent marker missing: %v", err)
	}
	if _, sent := fs.counts(); sent != 1 {
		t.Errorf("sent %d, want 1", sent)
	}
}

func TestWorker_RetriesTemporaryFailures(t *testing.T) {
	h := newHarness(t)
	fs := &fakeSender{script: []error{errors.New("421 busy"), errors.New("connection refused")}}
	h.run(fs, nil)
	h.publish("a-2", time.Minute)
	got := h.statuses("a-2", 3)
	want := []events.State{events.StateFailed, events.StateFailed, events.StateSent}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	if len(h.dlq()) != 0 {
		t.Error("a message that got through was dead-lettered")
	}
}

func TestWorker_DeadLetters(t *testing.T) {
	tests := []struct {
		name   string
		script []error
		reason string
		calls  int
	}{
		{"permanent", []error{Permanent("recipient-rejected", errors.New("550 <jon@example.com> unknown"))},
			"recipient-rejected", 1},
		{"attempts exhausted", []error{errors.New("t1"), errors.New("t2"), errors.New("t3"), errors.New("t4")},
			"attempts-exhausted", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			fs := &fakeSender{script: tt.script}
			h.run(fs, nil)
			h.publish("a-3", time.Minute)
			got := h.statuses("a-3", tt.calls)
			if last := got[len(got)-1]; last != events.StateDeadLettered {
				t.Fatalf("statuses = %v, want dead-lettered last", got)
			}
			dl := h.dlq()
			if len(dl) != 1 {
				t.Fatalf("%d dead letters, want 1", len(dl))
			}
			hdr := dl[0].Headers()
			if hdr.Get(events.HeaderReason) != tt.reason || hdr.Get(events.HeaderDestination) != "j***@e***.com" {
				t.Errorf("dead letter headers = %v", hdr)
			}
			if e := hdr.Get(events.HeaderLastError); e == "" || containsAny(e, "jon@example.com", "123456") {
				t.Errorf("last error %q is empty or carries the destination or code", e)
			}
			if calls, _ := fs.counts(); calls != tt.calls {
				t.Errorf("sender called %d times, want %d", calls, tt.calls)
			}
		})
	}
}

func TestWorker_SkipsExpiredAndDuplicates(t *testing.T) {
	h := newHarness(t)
	fs := &fakeSender{}
	h.run(fs, nil)
	h.publish("a-4", -time.Second)
	if got := h.statuses("a-4", 1); len(got) != 1 || got[0] != events.StateExpired {
		t.Fatalf("statuses = %v, want [expired]", got)
	}

	d := &events.Delivery{AuthID: "a-5", Channel: events.ChannelEmail, Generation: 1}
	if _, err := mustKV(t, h.js).Put(context.Background(), events.SentKey(d), []byte("x")); err != nil {
		t.Fatal(err)
	}
	h.publish("a-5", time.Minute)
	h.publish("a-6", time.Minute)
	h.statuses("a-6", 1)
	if calls, _ := fs.counts(); calls != 1 {
		t.Errorf("sender called %d times, want 1 (a-6 only)", calls)
	}
}

func mustKV(t *testing.T, js jetstream.JetStream) jetstream.KeyValue {
	t.Helper()
	kv, err := js.KeyValue(context.Background(), events.BucketSent)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// gateSender holds every send until its gate is opened.
type gateSender struct {
	fakeSender
	gate    chan struct{}
	started chan struct{}
}

func (g *gateSender) Send(ctx context.Context, d *events.Delivery, s events.Secret) (string, error) {
	g.started <- struct{}{}
	<-g.gate
	return g.fakeSender.Send(ctx, d, s)
}

// A worker that stops still sends the messages it had taken but not
// started, each on its first attempt: naking them would spend one.
func TestWorker_StopFinishesWaitingMessages(t *testing.T) {
	h := newHarness(t)
	const busy, total = 4, 10
	g := &gateSender{gate: make(chan struct{}), started: make(chan struct{}, total)}
	cfg := Config{Channel: events.ChannelEmail, Concurrency: busy, AckWait: time.Minute,
		SendTimeout: time.Second, ShutdownTimeout: 5 * time.Second}
	first := New(cfg, h.js, h.ring, g, logging.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	if err := first.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	ids := make([]string, total)
	for i := range ids {
		ids[i] = "b-" + strconv.Itoa(i)
		h.publish(ids[i], time.Minute)
	}
	for range busy {
		<-g.started
	}
	h.waitAckPending(busy + 1) // more than it sends: some wait in its buffer
	cancel()
	close(g.gate)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if calls, _ := g.counts(); calls <= busy {
		t.Errorf("the stopping worker sent %d messages, want the waiting ones too", calls)
	}

	h.run(&fakeSender{}, nil)
	for _, id := range ids {
		got := h.statusEvents(id, 1)
		if len(got) != 1 || got[0].State != events.StateSent || got[0].Attempt != 1 {
			t.Errorf("%s: statuses = %+v, want one sent on attempt 1", id, got)
		}
	}
}

// A message waiting for a free slot is not handed out again while it
// waits, given a send timeout within the bound Validate sets: a second
// worker, idle beside a busy one, sends nothing the busy one sends.
func TestWorker_WaitingMessagesAreNotRedelivered(t *testing.T) {
	h := newHarness(t)
	timing := func(c *Config) { c.AckWait = 4 * time.Second; c.SendTimeout = 2 * time.Second }
	slow := &slowSender{d: 1400 * time.Millisecond}
	h.run(slow, timing)
	const total = 8
	for i := range total {
		h.publish("w-"+strconv.Itoa(i), time.Minute)
	}
	h.waitAckPending(5) // four sending, the rest waiting
	idle := &fakeSender{}
	h.run(idle, timing)
	for i := range total {
		id := "w-" + strconv.Itoa(i)
		if got := h.statusEvents(id, 1); len(got) != 1 || got[0].Attempt != 1 {
			t.Errorf("%s: statuses = %+v, want one, on attempt 1", id, got)
		}
	}
	time.Sleep(4 * time.Second) // one ack wait, for a copy handed out again to show
	if calls, _ := idle.counts(); int(slow.calls.Load())+calls != total {
		t.Errorf("%d sends by the busy worker and %d by the idle one for %d messages",
			slow.calls.Load(), calls, total)
	}
}

func TestConfig_SendTimeoutWithinHalfTheAckWait(t *testing.T) {
	c := Config{Channel: events.ChannelEmail, AckWait: 3 * time.Second}
	c.SendTimeout = 1500 * time.Millisecond
	if err := c.Validate(); err != nil {
		t.Errorf("half the ack wait: %v", err)
	}
	c.SendTimeout = 1501 * time.Millisecond
	if err := c.Validate(); err == nil {
		t.Error("a send timeout over half the ack wait was accepted")
	}
}

// slowSender takes d over each send.
type slowSender struct {
	d     time.Duration
	calls atomic.Int32
}

func (s *slowSender) Send(ctx context.Context, _ *events.Delivery, _ events.Secret) (string, error) {
	s.calls.Add(1)
	select {
	case <-time.After(s.d):
		return "provider-1", nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// waitAckPending waits until the consumer has handed out at least n
// messages not yet acknowledged.
func (h *harness) waitAckPending(n int) {
	h.t.Helper()
	cons, err := h.js.Consumer(context.Background(), events.StreamDelivery, events.ChannelEmail.Consumer())
	if err != nil {
		h.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := cons.Info(context.Background())
		if err != nil {
			h.t.Fatal(err)
		}
		if info.NumAckPending >= n {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d messages handed out, want %d", info.NumAckPending, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
