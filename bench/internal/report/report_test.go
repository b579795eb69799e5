package report

import (
	"strings"
	"testing"
)

// figures returns a run where every target is met.
func figures() Figures {
	echo := Load{PerSec: 20000, P50: 1, P99: 5, Requests: 200000}
	return Figures{
		Machine: "test machine",
		Echo:    map[int]Load{16: echo, 64: echo, 256: echo},
		OTP: map[int]Load{16: {PerSec: 5000, Requests: 50000}, 64: {PerSec: 7000, P99: 20,
			Requests: 70000}, 256: {PerSec: 7000, Requests: 70000}},
		BoltWrites: 16000, BoltCommits: 250, BoltGoroutines: 64,
		JetStream: 70000, JetStreamWindow: 4096,
		Validate: Load{PerSec: 6000, P99: 20, Requests: 60000}, ValidateClients: 64,
		Tokens: Load{PerSec: 9000, Requests: 90000}, TokenClients: 64,
		Delivery: Delivery{Rate: 1000, Achieved: 999, P50: 10, P99: 60, Created: 10000,
			Delivered: 10000},
		EmailWorker: [2]float64{900, 1500},
		Memory: Memory{Challenges: 1000000, BaselineAnon: 8e6, LiveAnon: 100e6, SweptAnon: 90e6,
			LiveFile: 1e9, SweptFile: 1e9, RefilledFile: 1e9, Swept: true},
	}
}

func TestBuild_EveryRowInOrder(t *testing.T) {
	r := Build(figures())
	if len(r.Rows) != len(RowIDs) {
		t.Fatalf("%d rows, want %d", len(r.Rows), len(RowIDs))
	}
	for i, id := range RowIDs {
		if r.Rows[i].ID != id {
			t.Errorf("row %d is %q, want %q", i, r.Rows[i].ID, id)
		}
	}
	if n := r.Failed(); n != 0 {
		t.Errorf("%d rows failed, want none:\n%+v", n, r.Rows)
	}
}

func TestBuild_Verdicts(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Figures)
		row   string
		wantV Verdict
	}{
		{"otp too slow", func(f *Figures) { f.OTP[64] = Load{PerSec: 5000, P99: 20, Requests: 1} },
			"otp-64", Fail},
		{"otp p99 too high", func(f *Figures) { f.OTP[64] = Load{PerSec: 9000, P99: 30, Requests: 1} },
			"otp-64", Fail},
		{"validations with errors", func(f *Figures) { f.Validate.Bad = 100 }, "validate", Fail},
		{"undelivered mail", func(f *Figures) { f.Delivery.Delivered-- }, "delivery", Fail},
		{"two workers no faster", func(f *Figures) { f.EmailWorker[1] = 900 }, "email-2", Fail},
		{"too much memory", func(f *Figures) { f.Memory.LiveAnon = 200e6 }, "memory-live", Fail},
		{"file grows", func(f *Figures) { f.Memory.RefilledFile = 2e9 }, "file-swept", Fail},
		{"no sweep", func(f *Figures) { f.Memory.Swept = false }, "file-swept", Skipped},
		{"ceiling", func(*Figures) {}, "ceiling-bbolt", NoTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := figures()
			tt.edit(&f)
			row, ok := Build(f).Row(tt.row)
			if !ok || row.Verdict != tt.wantV {
				t.Errorf("row %s = %v (%+v), want %v", tt.row, row.Verdict, row, tt.wantV)
			}
		})
	}
}

func TestMarkdown_Table(t *testing.T) {
	var b strings.Builder
	if err := Build(figures()).Markdown(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"| figure | measured |", "7,000 req/s", "0.35× Echo@64",
		"1,000,000 live challenges", "✅ pass"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if got := strings.Count(out, "\n| "); got != len(RowIDs)+2 {
		t.Errorf("%d table lines, want %d", got, len(RowIDs)+2)
	}
}

func TestMarkdown_NotesOnRounds(t *testing.T) {
	tests := []struct {
		name    string
		rounds  int
		repeats map[string]int
		want    []string
		not     []string
	}{
		{"one measurement", 1, nil, []string{"just before the product figure"},
			[]string{"rounds", "again"}},
		{"rounds", 3, map[string]int{}, []string{"take 3 rounds each"}, []string{"measured again"}},
		{"repeats", 3, map[string]int{"otp-64": 2, "otp-256": 1, "validate": 1},
			[]string{"measured again 2 times for OTP requests at 64 clients, once for OTP " +
				"requests at 256 clients, once for validations"},
			[]string{"16 clients", "tokens"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := figures()
			f.Rounds, f.Repeats = tt.rounds, tt.repeats
			var b strings.Builder
			if err := Build(f).Markdown(&b); err != nil {
				t.Fatal(err)
			}
			notes := b.String()[strings.LastIndex(b.String(), "|"):]
			for _, w := range tt.want {
				if !strings.Contains(notes, w) {
					t.Errorf("notes lack %q:\n%s", w, notes)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(notes, w) {
					t.Errorf("notes have %q:\n%s", w, notes)
				}
			}
		})
	}
}
