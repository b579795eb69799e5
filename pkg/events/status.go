package events

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// State is what became of a delivery attempt.
type State int

// The delivery states, in the order a message usually passes through them.
const (
	StateQueued State = iota + 1
	StateSent
	StateFailed
	StateExpired
	StateDeadLettered
	StateDelivered
	StateUndeliverable
)

var stateNames = map[State]string{
	StateQueued:        "queued",
	StateSent:          "sent",
	StateFailed:        "failed",
	StateExpired:       "expired",
	StateDeadLettered:  "dead-lettered",
	StateDelivered:     "delivered",
	StateUndeliverable: "undeliverable",
}

// String returns the state's wire name, such as "dead-lettered".
func (s State) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the state by name.
func (s State) MarshalText() ([]byte, error) {
	if _, ok := stateNames[s]; !ok {
		return nil, fmt.Errorf("%w: state %d", ErrSchema, int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a state name. It fails with ErrSchema.
func (s *State) UnmarshalText(b []byte) error {
	for k, n := range stateNames {
		if n == string(b) {
			*s = k
			return nil
		}
	}

	return fmt.Errorf("%w: state %q", ErrSchema, b)
}

// Status reports one outcome of one delivery to mfa-api. Reason and Error
// never hold a code or an unmasked destination.
type Status struct {
	Version    int       `json:"v"`
	AuthID     string    `json:"authId"`
	ClientID   string    `json:"clientId"`
	Channel    Channel   `json:"channel"`
	Generation int       `json:"generation"`
	Replay     int       `json:"replay"`
	State      State     `json:"state"`
	Attempt    int       `json:"attempt,omitempty"`
	ProviderID string    `json:"providerId,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Error      string    `json:"error,omitempty"`
	At         time.Time `json:"at"`
}

// MsgID returns the status message's Nats-Msg-Id, unique per delivery,
// state and attempt so that a retried publish is dropped.
func (s *Status) MsgID() string {
	return MsgID(s.AuthID, s.Generation, s.Replay) + "." + s.State.String() +
		"." + strconv.Itoa(s.Attempt)
}

// Marshal encodes s for publishing.
func (s *Status) Marshal() ([]byte, error) {
	s.Version = SchemaVersion
	return json.Marshal(s)
}

// UnmarshalStatus decodes a status message. It fails with ErrSchema.
func UnmarshalStatus(data []byte) (Status, error) {
	var s Status
	if err := json.Unmarshal(data, &s); err != nil {
		return Status{}, fmt.Errorf("%w: %w", ErrSchema, err)
	}
	if s.Version != SchemaVersion || s.AuthID == "" {
		return Status{}, fmt.Errorf("%w: version %d", ErrSchema, s.Version)
	}
	return s, nil
}
