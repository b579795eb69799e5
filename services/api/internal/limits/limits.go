// Package limits decides rate limits and failure budgets. It holds the
// policy and the arithmetic; the state lives in the store. Failure budgets
// are read and written inside the transaction of the request or
// validation they guard. Rate counters are charged all-or-none just
// before the request's transaction, in the store's write-behind counters,
// and refunded when the request is then refused or fails, so a refused
// request leaves nothing behind; a restart resets nothing, and a crash at
// most the last second of counting.
//
// Rate limits use the generic cell rate algorithm (GCRA): each key keeps
// one "theoretical arrival time". A rule of Max requests per Window lets a
// burst of Max through, then one every Window/Max.
//
// A failure budget counts wrong codes per identity across all of its
// challenges: at most Max in Window, a growing delay once a run of wrong
// codes is as long as one challenge allows (five), and a hard stop after
// HardStop in a row until an operator clears it. A right code ends the run
// of failures but not the count.
package limits

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// ErrCorrupt is returned for stored state that cannot be decoded.
var ErrCorrupt = errors.New("limits: corrupt counter")

// Rule allows Max events per Window. A zero Max disables the rule.
type Rule struct {
	Max    int           `json:"max"`
	Window time.Duration `json:"window"`
}

// Enabled reports whether the rule limits anything.
func (r Rule) Enabled() bool { return r.Max > 0 && r.Window > 0 }

// Allow applies r to the stored arrival time tat (zero when none) at now.
// It returns the arrival time to store and, when the event is refused, how
// long to wait.
func Allow(tat time.Time, now time.Time, r Rule) (time.Time, time.Duration, bool) {
	if !r.Enabled() {
		return tat, 0, true
	}
	interval := r.Window / time.Duration(r.Max)
	tolerance := r.Window - interval
	if tat.Before(now) {
		tat = now
	}
	if wait := tat.Sub(now) - tolerance; wait > 0 {
		return tat, wait, false
	}
	return tat.Add(interval), 0, true
}

// EncodeTime stores an arrival time as 8 bytes.
func EncodeTime(t time.Time) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(nanos(t)))
}

// DecodeTime reads what EncodeTime wrote; nil is the zero time.
func DecodeTime(b []byte) (time.Time, error) {
	if b == nil {
		return time.Time{}, nil
	}
	if len(b) != 8 {
		return time.Time{}, ErrCorrupt
	}
	return fromNanos(int64(binary.BigEndian.Uint64(b))), nil
}

// BudgetRule is a failure budget policy.
type BudgetRule struct {
	// Max wrong codes per Window; default 10 an hour.
	Max    int
	Window time.Duration
	// HardStop is the run of wrong codes that locks the identity until an
	// operator clears it; default 100.
	HardStop int
}

// Budget is one identity's failure state.
type Budget struct {
	WindowStart  time.Time
	Count        int
	Consecutive  int
	LastFailure  time.Time
	BlockedUntil time.Time
	Locked       bool
}

// Tuning of the growing delay: from the fifth wrong code in a row (one
// challenge's worth) each further one doubles the wait (1 s, 2 s, 4 s, ...)
// up to maxBackoff. A run ends with a right code or a day without failures.
const (
	backoffFrom = 5
	maxBackoff  = 15 * time.Minute
	runExpiry   = 24 * time.Hour
)

// Refusal reports whether b refuses a try at now, and for how long; a
// locked budget refuses until cleared (the wait shown is then a day).
func (b *Budget) Refusal(now time.Time, r BudgetRule) (time.Duration, bool) {
	switch {
	case b.Locked:
		return 24 * time.Hour, true
	case now.Before(b.BlockedUntil):
		return b.BlockedUntil.Sub(now), true
	case r.Max > 0 && now.Sub(b.WindowStart) < r.Window && b.Count >= r.Max:
		return b.WindowStart.Add(r.Window).Sub(now), true
	}
	return 0, false
}

// Fail counts a wrong code at now.
func (b *Budget) Fail(now time.Time, r BudgetRule) {
	if now.Sub(b.WindowStart) >= r.Window {
		b.WindowStart, b.Count = now, 0
	}
	if now.Sub(b.LastFailure) >= runExpiry {
		b.Consecutive = 0
	}
	b.Count++
	b.Consecutive++
	b.LastFailure = now
	if r.HardStop > 0 && b.Consecutive >= r.HardStop {
		b.Locked = true
	}
	if n := b.Consecutive - backoffFrom; n >= 0 {
		delay := time.Duration(math.Min(float64(time.Second)*math.Pow(2, float64(n)), float64(maxBackoff)))
		b.BlockedUntil = now.Add(delay)
	}
}

// Succeed ends the run of failures after a right code.
func (b *Budget) Succeed() {
	b.Consecutive, b.BlockedUntil = 0, time.Time{}
}

// Stale reports whether b no longer affects anything at now, given the
// longest budget window in use, so that it can be deleted.
func (b *Budget) Stale(now time.Time, longest time.Duration) bool {
	return !b.Locked && now.After(b.BlockedUntil) && now.Sub(b.WindowStart) >= longest &&
		now.Sub(b.LastFailure) >= runExpiry
}

const budgetLen = 41

// Encode returns the stored form of b.
func (b *Budget) Encode() []byte {
	out := make([]byte, 0, budgetLen)
	out = binary.BigEndian.AppendUint64(out, uint64(nanos(b.WindowStart)))
	out = binary.BigEndian.AppendUint64(out, uint64(b.Count))
	out = binary.BigEndian.AppendUint64(out, uint64(b.Consecutive))
	out = binary.BigEndian.AppendUint64(out, uint64(nanos(b.LastFailure)))
	out = binary.BigEndian.AppendUint64(out, uint64(nanos(b.BlockedUntil)))
	if b.Locked {
		return append(out, 1)
	}
	return append(out, 0)
}

// DecodeBudget reads what Encode wrote; nil is an empty budget. It fails
// with ErrCorrupt.
func DecodeBudget(raw []byte) (Budget, error) {
	if raw == nil {
		return Budget{}, nil
	}
	if len(raw) != budgetLen {
		return Budget{}, ErrCorrupt
	}
	u := func(i int) int64 { return int64(binary.BigEndian.Uint64(raw[i*8:])) }
	return Budget{WindowStart: fromNanos(u(0)), Count: int(u(1)), Consecutive: int(u(2)),
		LastFailure: fromNanos(u(3)), BlockedUntil: fromNanos(u(4)), Locked: raw[40] == 1}, nil
}

// IsBudget tells a stored budget from a stored arrival time.
func IsBudget(raw []byte) bool { return len(raw) == budgetLen }

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
