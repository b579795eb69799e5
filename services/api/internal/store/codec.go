package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
)

// Challenges are stored in a compact binary form, since they are most of
// the file and every validation decodes and encodes one inside the write
// transaction. The form is a version byte (1), then the fields in the
// order of encodeChallenge: unsigned varints for counts and enums, signed
// varints of Unix nanoseconds for times (0 for none), and length-prefixed
// strings and byte strings. A value starting with "{" is the JSON form of
// earlier versions and is still read.
const challengeCodecV1 = 1

var errShort = errors.New("truncated")

// encodeChallenge returns the stored form of c.
func encodeChallenge(c *Challenge) ([]byte, error) {
	id, err := uuid.Parse(c.ID)
	if err != nil {
		return nil, fmt.Errorf("%w: challenge id %q", ErrCorrupt, c.ID)
	}
	b := make([]byte, 0, 320)
	b = append(b, challengeCodecV1)
	b = append(b, id[:]...)
	b = putStr(b, c.ClientID)
	b = putStr(b, c.UserName)
	b = binary.AppendUvarint(b, uint64(c.DeviceType))
	b = binary.AppendUvarint(b, uint64(c.State))
	b = putBytes(b, c.SealedDestination)
	b = putStr(b, c.MaskedDestination)
	b = putStr(b, c.LimitKey)
	b = putBytes(b, c.CodeHash)
	b = putStr(b, c.HashKeyID)
	for _, n := range []int{c.Generation, c.Replays, c.Attempts, c.MaxAttempts, c.Resends} {
		b = binary.AppendUvarint(b, uint64(n))
	}
	b = putStr(b, c.Template)
	b = binary.AppendUvarint(b, uint64(c.TemplateVersion))
	b = putStr(b, c.Locale)
	for _, t := range []time.Time{c.CreatedAt, c.ExpiresAt, c.SentAt, c.ValidatedAt, c.CancelledAt} {
		b = putTime(b, t)
	}
	b = binary.AppendUvarint(b, uint64(len(c.Deliveries)))
	for _, d := range c.Deliveries {
		b = binary.AppendUvarint(b, uint64(d.Generation))
		b = binary.AppendUvarint(b, uint64(d.Replay))
		b = binary.AppendUvarint(b, uint64(d.State))
		b = binary.AppendUvarint(b, uint64(d.Attempt))
		b = putStr(b, d.ProviderID)
		b = putStr(b, d.Reason)
		b = putStr(b, d.Error)
		b = putTime(b, d.At)
	}
	return b, nil
}

// decodeChallenge reads what encodeChallenge wrote, or the older JSON
// form. It fails with ErrCorrupt.
func decodeChallenge(raw []byte, c *Challenge) error {
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, c); err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		return nil
	}
	if len(raw) < 17 || raw[0] != challengeCodecV1 {
		return fmt.Errorf("%w: challenge codec", ErrCorrupt)
	}
	r := reader{b: raw[17:]}
	*c = Challenge{ID: uuid.UUID(raw[1:17]).String()}
	c.ClientID, c.UserName = r.str(), r.str()
	c.DeviceType, c.State = DeviceType(r.uint()), ChallengeState(r.uint())
	c.SealedDestination, c.MaskedDestination, c.LimitKey = r.bytes(), r.str(), r.str()
	c.CodeHash, c.HashKeyID = r.bytes(), r.str()
	c.Generation, c.Replays, c.Attempts = int(r.uint()), int(r.uint()), int(r.uint())
	c.MaxAttempts, c.Resends = int(r.uint()), int(r.uint())
	c.Template, c.TemplateVersion, c.Locale = r.str(), int(r.uint()), r.str()
	c.CreatedAt, c.ExpiresAt, c.SentAt = r.time(), r.time(), r.time()
	c.ValidatedAt, c.CancelledAt = r.time(), r.time()
	n := int(r.uint())
	if n > maxHistory {
		return fmt.Errorf("%w: %d deliveries", ErrCorrupt, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		d := DeliveryRecord{Generation: int(r.uint()), Replay: int(r.uint()),
			State: events.State(r.uint()), Attempt: int(r.uint())}
		d.ProviderID, d.Reason, d.Error, d.At = r.str(), r.str(), r.str(), r.time()
		c.Deliveries = append(c.Deliveries, d)
	}
	if r.err != nil {
		return fmt.Errorf("%w: challenge %s: %w", ErrCorrupt, c.ID, r.err)
	}
	return nil
}

func putStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func putBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func putTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixNano())
}

// reader decodes a value, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) raw() []byte {
	n := r.uint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errShort
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string { return string(r.raw()) }

func (r *reader) bytes() []byte {
	v := r.raw()
	if len(v) == 0 {
		return nil
	}
	return append([]byte(nil), v...)
}

func (r *reader) time() time.Time {
	if r.err != nil {
		return time.Time{}
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errShort
		return time.Time{}
	}
	r.b = r.b[n:]
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}
