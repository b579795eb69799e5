package store

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "mfa.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestOpen_FileMode(t *testing.T) {
	s := openTest(t)
	info, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("store file mode = %o, want 600", mode)
	}
}

func TestChallenges_CreateUpdate(t *testing.T) {
	s := openTest(t)
	c := &Challenge{ID: NewChallengeID(), ClientID: "c1", DeviceType: DeviceEmail,
		State: ChallengePending, MaxAttempts: 5}
	if err := s.CreateChallenge(c, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateChallenge(c, nil); !errors.Is(err, ErrExists) {
		t.Errorf("second create = %v, want ErrExists", err)
	}

	// Many concurrent increments of one challenge must all count.
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.UpdateChallenge(c.ID, func(c *Challenge) (bool, error) {
				c.Attempts++
				return true, nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := s.GetChallenge(c.ID)
	if err != nil || got.Attempts != 50 {
		t.Fatalf("attempts = %d, %v; want 50", got.Attempts, err)
	}

	boom := errors.New("boom")
	if err := s.UpdateChallenge(c.ID, func(c *Challenge) (bool, error) {
		c.Attempts = 999
		return true, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("update error = %v, want boom", err)
	}
	if got, _ := s.GetChallenge(c.ID); got.Attempts != 50 {
		t.Errorf("a failed update was written: attempts = %d", got.Attempts)
	}
	if err := s.UpdateChallenge(NewChallengeID(), nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("update of a missing challenge = %v, want ErrNotFound", err)
	}
	if _, err := s.GetChallenge("not-a-uuid"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get of a malformed id = %v, want ErrNotFound", err)
	}
}

func TestSweepChallenges(t *testing.T) {
	s := openTest(t)
	old := time.Now().Add(-48 * time.Hour)
	for i := 0; i < 30; i++ {
		u := uuid.New()
		id := idAt(t, old.Add(time.Duration(i)*time.Second), u)
		if err := s.CreateChallenge(&Challenge{ID: id, DeviceType: DeviceSMS}, nil); err != nil {
			t.Fatal(err)
		}
	}
	fresh := NewChallengeID()
	if err := s.CreateChallenge(&Challenge{ID: fresh, DeviceType: DeviceTOTP}, nil); err != nil {
		t.Fatal(err)
	}
	cutoff := time.Now().Add(-24 * time.Hour)
	total := 0
	for {
		n, err := s.SweepChallenges(cutoff, 7)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n < 7 {
			break
		}
	}
	if total != 30 {
		t.Errorf("swept %d, want 30", total)
	}
	if n, _ := s.CountChallenges(); n != 1 {
		t.Errorf("%d challenges left, want 1", n)
	}
	if _, err := s.GetChallenge(fresh); err != nil {
		t.Errorf("the fresh challenge was swept: %v", err)
	}
}

// idAt returns a UUIDv7 string whose timestamp is at.
func idAt(t testing.TB, at time.Time, u uuid.UUID) string {
	t.Helper()
	ms := at.UnixMilli()
	for i := 5; i >= 0; i-- {
		u[i] = byte(ms)
		ms >>= 8
	}
	return u.String()
}

func TestTemplates_RevisionGoesOnAfterDelete(t *testing.T) {
	st := openTest(t)
	put := func(body string) int {
		t.Helper()
		rev, err := st.PutTemplate(&ClientTemplate{ClientID: "c", Name: "acme",
			Files: map[string]string{"body.txt": body}})
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	put("one")
	put("two")
	if err := st.DeleteTemplate("c", "acme"); err != nil {
		t.Fatal(err)
	}
	if list, err := st.ListTemplates(); err != nil || len(list) != 0 {
		t.Fatalf("after delete: %d templates listed, %v; want none", len(list), err)
	}
	if err := st.DeleteTemplate("c", "acme"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}
	if rev := put("three"); rev != 3 {
		t.Errorf("upload after delete got revision %d, want 3", rev)
	}
	list, err := st.ListTemplates()
	if err != nil || len(list) != 1 || list[0].Files["body.txt"] != "three" {
		t.Fatalf("after upload again: %v, %v", list, err)
	}
}
