// Package dlq lists and replays dead-lettered deliveries. It runs inside
// mfa-api because a replay must check the challenge (still live, code not
// replaced by a resend) before the delivery is published again.
package dlq

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
)

// Entry is one dead letter.
type Entry struct {
	Seq         uint64    `json:"seq"`
	AuthID      string    `json:"authId"`
	Channel     string    `json:"channel"`
	Destination string    `json:"destination"` // masked
	Reason      string    `json:"reason"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"lastError"`
	Generation  int       `json:"generation"`
	Replay      int       `json:"replay"`
	FailedAt    time.Time `json:"failedAt"`

	delivery *events.Delivery
}

// Filter selects dead letters; zero fields select everything.
type Filter struct {
	Channel events.Channel
	Since   time.Time
	AuthID  string
}

// Replayer decides whether a dead letter may be sent again (see
// otp.Service.PrepareReplay).
type Replayer interface {
	PrepareReplay(authID string, generation int, dryRun bool) (replay int, skip string, err error)
}

// Republisher publishes a delivery event and waits for its ack.
type Republisher interface {
	Publish(ctx context.Context, d *events.Delivery) error
}

// Service reads and replays MFA_DLQ.
type Service struct {
	js  jetstream.JetStream
	rep Replayer
	pub Republisher
}

// New returns a Service.
func New(js jetstream.JetStream, rep Replayer, pub Republisher) *Service {
	return &Service{js: js, rep: rep, pub: pub}
}

// List returns the dead letters that f selects, oldest first.
func (s *Service) List(ctx context.Context, f Filter) ([]Entry, error) {
	cfg := jetstream.OrderedConsumerConfig{}
	if f.Channel != 0 {
		cfg.FilterSubjects = []string{f.Channel.DLQSubject()}
	}
	if !f.Since.IsZero() {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &f.Since
	}
	cons, err := s.js.OrderedConsumer(ctx, events.StreamDLQ, cfg)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", events.StreamDLQ, err)
	}
	var out []Entry
	for {
		batch, err := cons.FetchNoWait(500)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", events.StreamDLQ, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			if e, ok := entryOf(m); ok && (f.AuthID == "" || e.AuthID == f.AuthID) {
				out = append(out, e)
			}
		}

		if n == 0 {
			return out, nil
		}
	}
}

func entryOf(m jetstream.Msg) (Entry, bool) {
	md, err := m.Metadata()
	if err != nil {
		return Entry{}, false
	}
	h := m.Headers()
	attempts, _ := strconv.Atoi(h.Get(events.HeaderAttempts))
	failedAt, err := time.Parse(time.RFC3339Nano, h.Get(events.HeaderFailedAt))
	if err != nil {
		failedAt = md.Timestamp
	}
	e := Entry{Seq: md.Sequence.Stream, AuthID: h.Get(events.HeaderAuthID),
		Destination: h.Get(events.HeaderDestination), Reason: h.Get(events.HeaderReason),
		Attempts: attempts, LastError: h.Get(events.HeaderLastError), FailedAt: failedAt}
	if d, err := events.UnmarshalDelivery(m.Data()); err == nil {
		e.delivery, e.AuthID, e.Channel = &d, d.AuthID, d.Channel.String()
		e.Generation, e.Replay = d.Generation, d.Replay
	}

	return e, true
}

// Outcome is what a replay did with one dead letter.
type Outcome struct {
	Seq    uint64 `json:"seq"`
	AuthID string `json:"authId"`
	// Replay is the new replay number (for replayed ones and, in a dry
	// run, the number it would get).
	Replay int `json:"replay,omitempty"`
	// Skipped says why it was not replayed; empty when it was.
	Skipped string `json:"skipped,omitempty"`
	// NotDeleted marks a replayed letter that stayed in MFA_DLQ because
	// deleting it failed: a later replay would send it once more.
	NotDeleted bool `json:"notDeleted,omitempty"`
}

// Report is the result of a replay.
type Report struct {
	DryRun   bool      `json:"dryRun"`
	Replayed []Outcome `json:"replayed"`
	Skipped  []Outcome `json:"skipped"`
}

// Replay republishes the dead letters f selects whose challenge can still
// use them, and deletes each from MFA_DLQ once its republish is
// acknowledged. A dry run changes nothing. It stops at the first publish
// or delete failure, returning what it did so far with the error; a
// letter republished but not deleted is in it, marked NotDeleted.
func (s *Service) Replay(ctx context.Context, f Filter, dryRun bool) (Report, error) {
	rep := Report{DryRun: dryRun, Replayed: []Outcome{}, Skipped: []Outcome{}}
	entries, err := s.List(ctx, f)
	if err != nil {
		return rep, err
	}
	stream, err := s.js.Stream(ctx, events.StreamDLQ)
	if err != nil {
		return rep, fmt.Errorf("opening %s: %w", events.StreamDLQ, err)
	}
	for _, e := range entries {
		out, err := s.replayOne(ctx, stream, e, dryRun)
		if out.NotDeleted {
			rep.Replayed = append(rep.Replayed, out)
		}
		if err != nil {
			return rep, err
		}
		if out.Skipped != "" {
			rep.Skipped = append(rep.Skipped, out)
		} else {
			rep.Replayed = append(rep.Replayed, out)
		}
	}

	return rep, nil
}

// errUnreadable marks a dead letter whose event cannot be decoded.
var errUnreadable = errors.New("unreadable event")

func (s *Service) replayOne(ctx context.Context, stream jetstream.Stream, e Entry, dryRun bool) (Outcome, error) {
	out := Outcome{Seq: e.Seq, AuthID: e.AuthID}
	if e.delivery == nil {
		out.Skipped = errUnreadable.Error()
		return out, nil
	}

	replay, skip, err := s.rep.PrepareReplay(e.AuthID, e.Generation, dryRun)
	if err != nil {
		return out, fmt.Errorf("checking challenge %s: %w", e.AuthID, err)
	}
	out.Replay, out.Skipped = replay, skip
	if skip != "" || dryRun {
		return out, nil
	}
	d := *e.delivery
	d.Replay = replay
	if err := s.pub.Publish(ctx, &d); err != nil {
		return out, fmt.Errorf("republishing %s: %w", d.MsgID(), err)
	}
	if err := stream.DeleteMsg(ctx, e.Seq); err != nil {
		out.NotDeleted = true
		return out, fmt.Errorf("deleting dead letter %d: %w", e.Seq, err)
	}
	return out, nil
}
