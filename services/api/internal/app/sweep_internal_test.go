package app

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/config"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/limits"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

func TestSweepCounters_DeletesOnlyStale(t *testing.T) {
	st := openStore(t)
	now := time.Now()
	guard := func(ctrs store.Counters) error {
		for i := 0; i < 10; i++ {
			old := fmt.Sprintf("rl\x00user\x00c\x00old%d", i)
			if err := ctrs.Put(old, limits.EncodeTime(now.Add(-time.Minute))); err != nil {
				return err
			}
			live := fmt.Sprintf("rl\x00user\x00c\x00new%d", i)
			if err := ctrs.Put(live, limits.EncodeTime(now.Add(time.Minute))); err != nil {
				return err
			}
		}
		locked := limits.Budget{Locked: true, LastFailure: now.Add(-48 * time.Hour)}
		return ctrs.Put("fb\x00user\x00c\x00locked", locked.Encode())
	}
	c := &store.Challenge{ID: store.NewChallengeID(), DeviceType: store.DeviceTOTP}
	if err := st.CreateChallenge(c, guard); err != nil {
		t.Fatal(err)
	}
	a := &App{store: st, log: logging.Discard()}
	a.sweepCounters(context.Background(), now)
	for i := 0; i < 10; i++ {
		if v, _ := st.ReadCounter(fmt.Sprintf("rl\x00user\x00c\x00old%d", i)); v != nil {
			t.Errorf("stale counter old%d survived", i)
		}
		if v, _ := st.ReadCounter(fmt.Sprintf("rl\x00user\x00c\x00new%d", i)); v == nil {
			t.Errorf("live counter new%d was deleted", i)
		}
	}
	if v, _ := st.ReadCounter("fb\x00user\x00c\x00locked"); v == nil {
		t.Error("a hard-stopped budget was swept; only an operator may clear it")
	}
}

func TestSweepCounters_ReachesTheEndOfALargeBucket(t *testing.T) {
	st := openStore(t)
	now := time.Now()
	const stale = 12 * sweepBatch
	guard := func(ctrs store.Counters) error {
		for i := range stale {
			key := fmt.Sprintf("rl\x00dest\x00c\x00%08d", i)
			if err := ctrs.Put(key, limits.EncodeTime(now.Add(-time.Minute))); err != nil {
				return err
			}
		}
		return ctrs.Put("rl\x00dest\x00c\x00zz-live", limits.EncodeTime(now.Add(time.Minute)))
	}
	c := &store.Challenge{ID: store.NewChallengeID(), DeviceType: store.DeviceTOTP}
	if err := st.CreateChallenge(c, guard); err != nil {
		t.Fatal(err)
	}

	a := &App{store: st, log: logging.Discard()}
	a.sweepCounters(context.Background(), now)
	for _, i := range []int{0, stale / 2, stale - 1} {
		if v, _ := st.ReadCounter(fmt.Sprintf("rl\x00dest\x00c\x00%08d", i)); v != nil {
			t.Errorf("stale counter %d of %d survived one sweep", i, stale)
		}
	}
	if v, _ := st.ReadCounter("rl\x00dest\x00c\x00zz-live"); v == nil {
		t.Error("the live counter was deleted")
	}
	if a.counterCursor != "" {
		t.Errorf("sweep stopped at %q, not at the end", a.counterCursor)
	}
}

func TestSweepOnce_AuditRetention(t *testing.T) {
	tests := []struct {
		name      string
		retention time.Duration
		later     time.Duration
		want      int
	}{
		{"kept for ever by default", 0, 1000 * 24 * time.Hour, 3},
		{"kept within the retention", 48 * time.Hour, 24 * time.Hour, 3},
		{"swept after it", time.Hour, 2 * time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t)
			for i := range 3 {
				e := &store.AuditEntry{At: time.Now(), Actor: "ops",
					Action: "POST /admin/v1/keys/rotate", Status: 200 + i}
				if err := st.AppendAudit(e); err != nil {
					t.Fatal(err)
				}
			}
			cfg := config.Config{AuditRetention: tt.retention, MaxCodeLifetime: 10 * time.Minute}
			a := &App{store: st, log: logging.Discard(), cfg: cfg}
			a.sweepOnce(context.Background(), time.Now().Add(tt.later))
			got, err := st.ListAudit(time.Time{}, 10)
			if err != nil || len(got) != tt.want {
				t.Errorf("%d entries left (%v), want %d", len(got), err, tt.want)
			}
		})
	}
}

// openStore opens a store in a temporary directory, closed when the test
// ends.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "mfa.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}
