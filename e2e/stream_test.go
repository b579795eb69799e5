package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/natsembed"
)

// streamDump returns every message of every stream, headers and data, as
// one string.
func streamDump(t *testing.T, url string) string {
	t.Helper()
	_, js := natsembed.ConnectForTest(t, url)
	var b strings.Builder
	for _, name := range []string{events.StreamDelivery, events.StreamStatus, events.StreamDLQ} {
		cons, err := js.OrderedConsumer(context.Background(), name, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		batch, err := cons.FetchNoWait(10000)
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			b.WriteString(m.Subject() + " ")
			for k, v := range m.Headers() {
				b.WriteString(k + ":" + strings.Join(v, ",") + " ")
			}
			b.Write(m.Data())
			b.WriteString("\n")
		}
	}
	return b.String()
}

// deleteStream removes a stream, as an operator's mistake or a lost
// JetStream volume would.
func deleteStream(t *testing.T, url, name string) {
	t.Helper()
	_, js := natsembed.ConnectForTest(t, url)
	if err := js.DeleteStream(context.Background(), name); err != nil {
		t.Fatal(err)
	}
}
