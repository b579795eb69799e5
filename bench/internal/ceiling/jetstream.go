package ceiling

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStreamOptions shape a raw JetStream measurement.
type JetStreamOptions struct {
	// URL is the NATS server; required.
	URL string
	// Duration is how long to publish; required.
	Duration time.Duration
	// Window is the most publishes awaiting their ack; default 4096.
	Window int
	// Size is each message's payload size; default 512 bytes, about a
	// sealed delivery event.
	Size int
}

// JetStreamResult is what a raw JetStream measurement achieved.
type JetStreamResult struct {
	// AckedPerSec counts publishes whose ack arrived.
	AckedPerSec float64
	// Failed counts publishes answered with an error.
	Failed int
	// Window is the number of publishes in flight.
	Window int
}

// ceilingStream is the stream created for the measurement and deleted
// after it.
const ceilingStream = "BENCH_CEILING"

// JetStream publishes asynchronously to a fresh file-storage stream on the
// server at o.URL, each message with its own Nats-Msg-Id as mfa-api sends
// them, and counts acks. It fails when it cannot connect or manage the
// stream.
func JetStream(ctx context.Context, o JetStreamOptions) (JetStreamResult, error) {
	if o.Window <= 0 {
		o.Window = 4096
	}

	if o.Size <= 0 {
		o.Size = 512
	}

	nc, err := nats.Connect(o.URL, nats.Name("mfa-bench-ceiling"))
	if err != nil {
		return JetStreamResult{}, fmt.Errorf("ceiling: connecting to nats: %w", err)
	}

	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(o.Window),
		jetstream.WithPublishAsyncTimeout(10*time.Second))
	if err != nil {
		return JetStreamResult{}, fmt.Errorf("ceiling: jetstream: %w", err)
	}

	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: ceilingStream,
		Subjects: []string{"bench.ceiling"}, Storage: jetstream.FileStorage,
		Duplicates: 2 * time.Minute})
	if err != nil {
		return JetStreamResult{}, fmt.Errorf("ceiling: creating stream: %w", err)
	}

	res, runErr := publishAll(ctx, js, o)
	delErr := js.DeleteStream(context.WithoutCancel(ctx), ceilingStream)
	if delErr != nil {
		delErr = fmt.Errorf("ceiling: deleting stream: %w", delErr)
	}

	return res, errors.Join(runErr, delErr)
}

// stallWait is how long a publish waits for room in a full window.
const stallWait = 5 * time.Second

// publishAll publishes for o.Duration while a collector counts acks.
func publishAll(ctx context.Context, js jetstream.JetStream, o JetStreamOptions) (JetStreamResult, error) {
	payload := make([]byte, o.Size)
	_, _ = rand.Read(payload)
	futures := make(chan jetstream.PubAckFuture, o.Window)
	counted := make(chan [2]int, 1)
	go func() {
		acked, failed := 0, 0
		for f := range futures {
			select {
			case <-f.Ok():
				acked++
			case <-f.Err():
				failed++
			}
		}

		counted <- [2]int{acked, failed}
	}()
	start := time.Now()
	deadline := start.Add(o.Duration)
	var pubErr error
	for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
		msg := &nats.Msg{Subject: "bench.ceiling", Data: payload, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, "ceiling."+strconv.Itoa(i))
		// A full window waits for acks: on a busy machine they can take
		// longer than the library's default stall wait of 200 ms.
		f, err := js.PublishMsgAsync(msg, jetstream.WithStallWait(stallWait))
		if err != nil {
			pubErr = fmt.Errorf("ceiling: publishing: %w", err)
			break
		}

		futures <- f
	}

	close(futures)
	n := <-counted
	secs := time.Since(start).Seconds()
	return JetStreamResult{AckedPerSec: float64(n[0]) / secs, Failed: n[1], Window: o.Window}, pubErr
}
