package delivery

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/natsembed"
)

// connect starts a server and returns a connection, a JetStream handle for
// the test's own look at the streams, and a publisher that gives up on an
// ack after timeout.
func connect(t testing.TB, timeout time.Duration) (*nats.Conn, jetstream.JetStream, *Publisher) {
	t.Helper()
	srv := natsembed.StartForTest(t)
	nc, js := natsembed.ConnectForTest(t, srv.ClientURL())
	p, err := NewPublisher(nc, timeout)
	if err != nil {
		t.Fatal(err)
	}

	return nc, js, p
}

// neverAck subscribes to the delivery subjects without a stream, so that
// something takes every message but never acknowledges it.
func neverAck(t *testing.T, nc *nats.Conn) {
	t.Helper()
	sub, err := nc.Subscribe("mfa.delivery.>", func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// deliveryStream returns the delivery stream and how many messages it
// holds.
func deliveryStream(t *testing.T, js jetstream.JetStream) (jetstream.Stream, uint64) {
	t.Helper()
	stream, err := js.Stream(context.Background(), events.StreamDelivery)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return stream, info.State.Msgs
}

func delivery() *events.Delivery {
	return &events.Delivery{AuthID: "0190f3a4-7c1e-7b2a-9c4d-5e6f7a8b9c0d", ClientID: "client-1",
		Channel: events.ChannelEmail, Generation: 1, Template: "demotemplate", TemplateVersion: 1,
		CreatedAt: time.Unix(1700000000, 0).UTC(), ExpiresAt: time.Unix(1700000300, 0).UTC()}
}

func TestPublish_StoresTheEventWithItsHeaders(t *testing.T) {
	_, js, p := connect(t, 2*time.Second)
	ctx := context.Background()
	if err := events.EnsureStreams(ctx, js, events.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	d := delivery()

	// A caller that has gone away still gets its publish carried out.
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Publish(gone, d); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := p.Publish(ctx, d); err != nil {
		t.Fatalf("Publish again: %v", err)
	}

	stream, msgs := deliveryStream(t, js)
	if msgs != 1 {
		t.Fatalf("stream holds %d messages, want 1: the repeat has the same Nats-Msg-Id", msgs)
	}
	msg, err := stream.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get(events.HeaderMsgID); got != d.MsgID() {
		t.Errorf("%s = %q, want %q", events.HeaderMsgID, got, d.MsgID())
	}
	if got := msg.Header.Get(events.HeaderSchema); got != "1" {
		t.Errorf("%s = %q, want 1", events.HeaderSchema, got)
	}
	if msg.Subject != events.ChannelEmail.DeliverySubject() {
		t.Errorf("subject %q, want %q", msg.Subject, events.ChannelEmail.DeliverySubject())
	}
}

func TestPublish_RefusesAnotherStream(t *testing.T) {
	_, js, p := connect(t, 2*time.Second)
	ctx := context.Background()
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SOMETHING_ELSE",
		Subjects: []string{"mfa.delivery.>"}})
	if err != nil {
		t.Fatal(err)
	}

	err = p.Publish(ctx, delivery())
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != streamNotMatch {
		t.Fatalf("Publish into the wrong stream = %v, want JetStream's refusal (error code %d)",
			err, streamNotMatch)
	}
}

// streamNotMatch is JetStream's error code for a message whose
// Nats-Expected-Stream names another stream.
const streamNotMatch jetstream.ErrorCode = 10060

func TestPublish_TimesOutWithoutAnAck(t *testing.T) {
	nc, _, p := connect(t, 200*time.Millisecond)
	neverAck(t, nc)

	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- p.Publish(context.Background(), delivery()) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("Publish = %v, want ErrTimeout", err)
		}
		if waited := time.Since(start); waited < 150*time.Millisecond {
			t.Errorf("gave up after %v, before the 200ms publish timeout", waited)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Publish still waiting after 5s with a 200ms publish timeout")
	}
}

func TestNewPublisher_NeedsATimeout(t *testing.T) {
	nc, _, _ := connect(t, time.Second)
	for _, timeout := range []time.Duration{0, -time.Second} {
		if _, err := NewPublisher(nc, timeout); err == nil {
			t.Errorf("NewPublisher(%v) accepted a wait without end", timeout)
		}
	}
}

func TestStart_ManyInFlightEachWaitsForItsAck(t *testing.T) {
	_, js, p := connect(t, 2*time.Second)
	ctx := context.Background()
	if err := events.EnsureStreams(ctx, js, events.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = 100
	waits := make([]func() error, n)
	for i := range waits {
		d := delivery()
		d.Generation = i + 1
		var err error
		if waits[i], err = p.Start(d); err != nil {
			t.Fatalf("Start %d: %v", i, err)
		}
	}
	for i, wait := range waits {
		if err := wait(); err != nil {
			t.Fatalf("wait %d: %v", i, err)
		}
	}

	if _, msgs := deliveryStream(t, js); msgs != n {
		t.Errorf("stream holds %d messages after %d acknowledged starts, want %d", msgs, n, n)
	}
}

func TestStart_RefusesAtOnceWhenAcksPileUp(t *testing.T) {
	nc, _, p := connect(t, time.Minute)
	neverAck(t, nc)

	for i := range maxPending {
		d := delivery()
		d.Generation = i + 1
		if _, err := p.Start(d); err != nil {
			t.Fatalf("Start %d of %d: %v", i+1, maxPending, err)
		}
	}
	if _, err := p.Start(delivery()); !errors.Is(err, ErrBusy) {
		t.Fatalf("Start with %d acks outstanding = %v, want ErrBusy at once", maxPending, err)
	}
}
