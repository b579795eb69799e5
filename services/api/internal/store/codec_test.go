package store

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
)

func TestChallengeCodec_RoundTrip(t *testing.T) {
	c := sampleChallenge()
	c.ValidatedAt = time.Now().UTC()
	c.Resends, c.Replays, c.Attempts, c.Locale = 2, 1, 3, "pt-BR"
	c.AddDelivery(DeliveryRecord{Generation: 1, State: events.StateFailed, Attempt: 1, Reason: "temporary",
		Error: "421 busy", At: time.Now().UTC()})
	c.AddDelivery(DeliveryRecord{Generation: 2, Replay: 1, State: events.StateSent, ProviderID: "<x@y>",
		At: time.Now().UTC()})
	raw, err := encodeChallenge(c)
	if err != nil {
		t.Fatal(err)
	}
	var got Challenge
	if err := decodeChallenge(raw, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, &got); diff != "" {
		t.Errorf("round trip differs (-want +got):\n%s", diff)
	}
	js, _ := json.Marshal(c)
	t.Logf("binary %d bytes, JSON %d bytes", len(raw), len(js))

	var old Challenge
	if err := decodeChallenge(js, &old); err != nil || old.ID != c.ID {
		t.Errorf("the JSON form no longer reads: %v", err)
	}
	for _, bad := range [][]byte{nil, {9}, raw[:20], raw[:len(raw)-1]} {
		if err := decodeChallenge(bad, &got); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decode of %d bytes = %v, want ErrCorrupt", len(bad), err)
		}
	}
}

func FuzzDecodeChallenge(f *testing.F) {
	raw, _ := encodeChallenge(sampleChallenge())
	f.Add(raw)
	f.Add([]byte(`{"id":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Challenge
		if decodeChallenge(b, &c) != nil || b[0] == '{' {
			return
		}
		again, err := encodeChallenge(&c)
		if err != nil {
			t.Fatalf("decoded challenge does not encode: %v", err)
		}
		var c2 Challenge
		if err := decodeChallenge(again, &c2); err != nil || !cmp.Equal(c, c2) {
			t.Fatalf("re-encoding changed the challenge: %v", err)
		}
	})
}
