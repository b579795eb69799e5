package harness

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ciam-mfa/ciam-mfa/bench/internal/procstat"
	"github.com/ciam-mfa/ciam-mfa/bench/internal/report"
)

// TestRun_Quick runs the whole benchmark in quick mode against the real
// binaries and checks that the table has every row with a figure in it.
// Targets are not asserted: a loaded CI machine may miss them.
func TestRun_Quick(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole system for about a minute")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var logs strings.Builder
	rep, err := Run(ctx, Config{Quick: true, WorkDir: t.TempDir(),
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, logs.String())
	}
	var table strings.Builder
	if err := rep.Markdown(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())

	for _, id := range report.RowIDs {
		row, ok := rep.Row(id)
		switch {
		case !ok:
			t.Errorf("no row %s", id)
		case !strings.Contains(table.String(), "| "+row.Figure+" |"):
			t.Errorf("row %s (%q) is not in the table", id, row.Figure)
		case row.Verdict != report.Skipped && strings.HasPrefix(row.Measured, "0 "):
			t.Errorf("row %s measured nothing: %q", id, row.Measured)
		}
	}
	for _, id := range []string{"memory-swept", "file-swept"} {
		if row, _ := rep.Row(id); row.Verdict != report.Skipped {
			t.Errorf("row %s = %v in a quick run, want skipped", id, row.Verdict)
		}
	}
}

func TestMerged_TakesRoundsTogether(t *testing.T) {
	a := loadResult{Seconds: 2, Requests: 4, OK: 4, EachSecond: []int{2, 2},
		SamplesUs: []int64{1000, 2000, 3000, 4000}}
	b := loadResult{Seconds: 1, Requests: 6, OK: 5, Errors: 1, EachSecond: []int{5},
		SamplesUs: []int64{500, 600, 700, 800, 900, 50000}}
	l := merged([]loadResult{a, b})
	if l.PerSec != 3 || l.Requests != 10 || l.Bad != 1 || l.SlowestSecond != 2 {
		t.Errorf("merged = %+v, want 9 answers over 3 s, 10 requests, 1 bad, slowest second 2", l)
	}
	// Sorted: 500 600 700 800 900 1000 2000 3000 4000 50000.
	if l.P50 != 0.9 || l.P99 != 50 {
		t.Errorf("p50 %v p99 %v, want 0.9 and 50 ms", l.P50, l.P99)
	}
	if got := merged(nil); got.PerSec != 0 || got.SlowestSecond != -1 || got.P99 != 0 {
		t.Errorf("merged(nil) = %+v", got)
	}
}

func TestSpan_AddsRoundsUp(t *testing.T) {
	var s span
	// Two rounds of 1000 ticks: 100 idle and 100 stolen, then 500 idle and
	// 0 stolen; the benchmark's processes used 600 and 300 of them.
	s.add(procstat.CPUTimes{Total: 5000, Idle: 1000, Steal: 10},
		procstat.CPUTimes{Total: 6000, Idle: 1100, Steal: 110}, 600)
	s.add(procstat.CPUTimes{Total: 9000, Idle: 2000, Steal: 200},
		procstat.CPUTimes{Total: 10000, Idle: 2500, Steal: 200}, 300)
	got := s.share()
	// Busy is (2000-600-100)/2000 = 0.65; by others, 0.65-900/2000 = 0.2.
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(got.Busy, 0.65) || !near(got.Steal, 0.05) || !near(got.Other, 0.2) {
		t.Errorf("share = %+v, want busy 0.65, stolen 0.05, by others 0.2", got)
	}
}
