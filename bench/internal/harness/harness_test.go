package harness

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

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
