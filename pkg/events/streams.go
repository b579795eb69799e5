package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamOptions sizes the streams. Zero values take the defaults noted.
type StreamOptions struct {
	// Replicas is the replica count of every stream; default 1.
	Replicas int
	// DeliveryMaxAge is how long undelivered events are kept; default 24h.
	DeliveryMaxAge time.Duration
	// DLQMaxAge is how long dead letters are kept; default 7 days.
	DLQMaxAge time.Duration
	// Duplicates is the window in which a repeated Nats-Msg-Id is dropped;
	// default 2 minutes.
	Duplicates time.Duration
}

func (o StreamOptions) withDefaults() StreamOptions {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.DeliveryMaxAge <= 0 {
		o.DeliveryMaxAge = 24 * time.Hour
	}
	if o.DLQMaxAge <= 0 {
		o.DLQMaxAge = 7 * 24 * time.Hour
	}
	if o.Duplicates <= 0 {
		o.Duplicates = 2 * time.Minute
	}
	return o
}

// StreamConfigs returns the configuration of MFA_DELIVERY, MFA_STATUS and
// MFA_DLQ.
func StreamConfigs(o StreamOptions) []jetstream.StreamConfig {
	o = o.withDefaults()
	stream := func(name, subjects, desc string, age time.Duration) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        name,
			Description: desc,
			Subjects:    []string{subjects},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			MaxAge:      age,
			Duplicates:  min(o.Duplicates, age),
			Replicas:    o.Replicas,
			Discard:     jetstream.DiscardOld,
		}
	}

	return []jetstream.StreamConfig{
		stream(StreamDelivery, "mfa.delivery.>", "OTP deliveries to send", o.DeliveryMaxAge),
		stream(StreamStatus, "mfa.status.>", "delivery outcomes", o.DeliveryMaxAge),
		stream(StreamDLQ, "mfa.dlq.>", "deliveries that could not be sent", o.DLQMaxAge),
	}
}

// EnsureStreams creates or updates every stream.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, o StreamOptions) error {
	for _, cfg := range StreamConfigs(o) {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("creating stream %s: %w", cfg.Name, err)
		}
	}

	return nil
}

// ConsumerOptions tunes a worker kind's durable consumer.
type ConsumerOptions struct {
	// AckWait is how long a delivered message may go without an ack or a
	// progress heartbeat before it is redelivered; default 30s.
	AckWait time.Duration
	// MaxDeliver is the number of attempts before the worker dead-letters
	// a message; default 5.
	MaxDeliver int
	// MaxAckPending bounds unacknowledged messages across all workers of
	// the kind; default 10000.
	MaxAckPending int
}

// ConsumerConfig returns the durable pull consumer configuration of c.
func ConsumerConfig(c Channel, o ConsumerOptions) jetstream.ConsumerConfig {
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	if o.MaxDeliver <= 0 {
		o.MaxDeliver = 5
	}
	if o.MaxAckPending <= 0 {
		o.MaxAckPending = 10000
	}
	return jetstream.ConsumerConfig{
		Durable:       c.Consumer(),
		Description:   c.String() + " delivery workers",
		FilterSubject: c.DeliverySubject(),
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       o.AckWait,
		// The worker dead-letters on its last attempt itself; one more
		// lets the server redeliver if it died during that attempt.
		MaxDeliver:    o.MaxDeliver + 1,
		MaxAckPending: o.MaxAckPending,
	}
}

// EnsureConsumer creates c's durable consumer with default options if it
// does not exist yet, leaving an existing one (configured by its workers)
// alone.
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, c Channel) error {
	_, err := js.CreateConsumer(ctx, StreamDelivery, ConsumerConfig(c, ConsumerOptions{}))
	if err != nil && !errors.Is(err, jetstream.ErrConsumerExists) {
		return fmt.Errorf("creating consumer %s: %w", c.Consumer(), err)
	}
	return nil
}

// EnsureBuckets creates the key-value buckets if they do not exist.
func EnsureBuckets(ctx context.Context, js jetstream.JetStream, replicas int) error {
	buckets := []jetstream.KeyValueConfig{
		{Bucket: BucketConfig, Description: "client templates and senders",
			History: 5, Storage: jetstream.FileStorage, Replicas: max(replicas, 1)},
		{Bucket: BucketSent, Description: "deliveries a provider accepted",
			TTL: 25 * time.Hour, Storage: jetstream.FileStorage, Replicas: max(replicas, 1)},
	}

	for _, cfg := range buckets {
		if _, err := js.CreateOrUpdateKeyValue(ctx, cfg); err != nil {
			return fmt.Errorf("creating bucket %s: %w", cfg.Bucket, err)
		}
	}

	return nil
}

// SentKey is the BucketSent key marking a delivery as accepted by its
// provider.
func SentKey(d *Delivery) string {
	return d.Channel.String() + "." + d.MsgID()
}
