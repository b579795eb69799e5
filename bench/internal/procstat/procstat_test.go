package procstat

import (
	"errors"
	"os"
	"testing"
)

func TestRSSAnon_Self(t *testing.T) {
	anon, err := RSSAnon(os.Getpid())
	if errors.Is(err, ErrNoField) {
		t.Skip("kernel without RssAnon")
	}
	if err != nil || anon <= 0 {
		t.Fatalf("RSSAnon(self) = %d, %v; want a positive size", anon, err)
	}
	if _, err := RSSFile(os.Getpid()); err != nil {
		t.Errorf("RSSFile(self): %v", err)
	}
}

func TestRSSAnon_NoProcess(t *testing.T) {
	if _, err := RSSAnon(-1); err == nil {
		t.Error("RSSAnon(-1) succeeded, want an error")
	}
}

func TestCPU_Advances(t *testing.T) {
	a, err := CPU()
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := range 50_000_000 {
		x += i
	}
	b, err := CPU()
	if err != nil {
		t.Fatal(err)
	}
	if b.Total < a.Total || b.Steal < a.Steal || b.Idle < a.Idle {
		t.Errorf("CPU times went back: %+v then %+v (%d)", a, b, x)
	}
	if s := StealShare(a, b); s < 0 || s > 1 {
		t.Errorf("StealShare = %v, want a share", s)
	}
	if s := BusyShare(a, b); s < 0 || s > 1 {
		t.Errorf("BusyShare = %v, want a share", s)
	}
	if s := StealShare(b, b); s != 0 {
		t.Errorf("StealShare of no time = %v, want 0", s)
	}
}

func TestDirty_Reads(t *testing.T) {
	if n, err := Dirty(); err != nil || n < 0 {
		t.Errorf("Dirty = %d, %v; want a size", n, err)
	}
}

func TestProcessTicks_Self(t *testing.T) {
	x := 0
	for i := range 200_000_000 {
		x += i
	}
	ticks, err := ProcessTicks(os.Getpid())
	if err != nil || ticks == 0 {
		t.Errorf("ProcessTicks(self) = %d, %v after busy work (%d); want some", ticks, err, x)
	}
	if _, err := ProcessTicks(-1); err == nil {
		t.Error("ProcessTicks(-1) succeeded, want an error")
	}
}
