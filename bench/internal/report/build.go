package report

import (
	"fmt"
	"strconv"
	"strings"
)

// Targets the run is judged against.
const (
	// OTPShare is the least share of the trivial handler's rate that OTP
	// requests reach at TargetClients clients.
	OTPShare = 0.30
	// ValidateShare is the same for validations.
	ValidateShare = 0.28
	// TokenShare is the same for the token endpoint.
	TokenShare = 0.25
	// MaxP99 bounds the p99 latency of OTP requests and validations, in
	// milliseconds.
	MaxP99 = 25.0
	// DeliveryP50 and DeliveryP99 bound request-to-SMTP latency in
	// milliseconds at DeliveryRate requests a second.
	DeliveryP50, DeliveryP99 = 50.0, 250.0
	// DeliveryRate is the paced request rate of the delivery figure.
	DeliveryRate = 1000
	// WorkerRate is the least messages a second of one email worker.
	WorkerRate = 500.0
	// MaxAnon bounds mfa-api's anonymous memory with the live challenges,
	// in bytes (150 MB).
	MaxAnon = 150_000_000
	// MaxRegrowth is how much the bbolt file may grow, as a share, when
	// as many challenges again are stored after a sweep.
	MaxRegrowth = 0.05
	// MaxBad is the share of requests that may go wrong in a passing
	// figure.
	MaxBad = 0.001
	// TargetClients is the client count the OTP target is set at.
	TargetClients = 64
)

// Clients are the client counts OTP requests and the trivial handler are
// measured at.
var Clients = []int{16, 64, 256}

// RowIDs lists the ID of every row Build makes, in order.
var RowIDs = []string{
	"ceiling-echo-16", "ceiling-echo-64", "ceiling-echo-256", "ceiling-bbolt",
	"ceiling-jetstream", "otp-16", "otp-64", "otp-256", "validate", "tokens", "delivery",
	"email-1", "email-2", "memory-live", "file-live", "memory-swept", "file-swept",
}

// Build makes the report of f.
func Build(f Figures) *Report {
	r := &Report{Header: header(f)}
	r.Rows = append(r.Rows, ceilingRows(f)...)
	r.Rows = append(r.Rows, otpRows(f)...)
	r.Rows = append(r.Rows, validateRow(f), tokenRow(f), deliveryRow(f))
	r.Rows = append(r.Rows, workerRows(f)...)
	r.Rows = append(r.Rows, memoryRows(f)...)
	for i, row := range r.Rows {
		if c, ok := f.CPU[row.ID]; ok {
			r.Rows[i].Measured += fmt.Sprintf(" (CPU %.0f%% busy, %.0f%% by others; %.0f%% stolen)",
				c.Busy*100, c.Other*100, c.Steal*100)
		}
	}

	r.Notes = notes(f)
	return r
}

func header(f Figures) string {
	mode := "full run"
	if f.Quick {
		mode = "quick run (BENCH_QUICK=1): short windows, figures only prove the harness works"
	}

	return fmt.Sprintf("CIAM MFA system benchmark, %s; %s", mode, f.Machine)
}

func ceilingRows(f Figures) []Row {
	var rows []Row
	for _, n := range Clients {
		e := f.Echo[n]
		rows = append(rows, Row{ID: "ceiling-echo-" + strconv.Itoa(n),
			Figure:   fmt.Sprintf("ceiling: trivial Echo JSON handler, %d clients", n),
			Measured: loadCell(e, "req/s"), Verdict: NoTarget})
	}

	rows = append(rows, Row{ID: "ceiling-bbolt",
		Figure: fmt.Sprintf("ceiling: raw bbolt DB.Batch, %d goroutines", f.BoltGoroutines),
		Measured: fmt.Sprintf("%s writes/s in %s commits/s", count(f.BoltWrites),
			count(f.BoltCommits)), Verdict: NoTarget})
	rows = append(rows, Row{ID: "ceiling-jetstream",
		Figure:   fmt.Sprintf("ceiling: raw JetStream acked async publishes, %d in flight", f.JetStreamWindow),
		Measured: count(f.JetStream) + " msg/s", Verdict: NoTarget})
	return rows
}

func otpRows(f Figures) []Row {
	var rows []Row
	for _, n := range Clients {
		l, echo := f.OTP[n], paired(f.OTPEcho[n], f.Echo[n])
		row := Row{ID: "otp-" + strconv.Itoa(n),
			Figure:   fmt.Sprintf("OTP requests (POST /v1/otp, EMAIL), %d clients", n),
			Measured: loadCell(l, "req/s"),
			Ratio: strings.Join([]string{echoRatio(l.PerSec, echo, n),
				ratio(l.PerSec, f.BoltWrites, "bbolt"), ratio(l.PerSec, f.JetStream, "JetStream")}, "; "),
			Verdict: NoTarget}
		if n == TargetClients {
			row.Target = fmt.Sprintf("≥ %.2f× Echo, p99 ≤ %.0f ms", OTPShare, MaxP99)
			row.Verdict = judge(l.PerSec >= OTPShare*echo && l.P99 <= MaxP99 && l.badShare() <= MaxBad)
		}

		rows = append(rows, row)
	}

	return rows
}

func validateRow(f Figures) Row {
	l, echo := f.Validate, paired(f.ValidateEcho, f.Echo[f.ValidateClients])
	return Row{ID: "validate",
		Figure:   fmt.Sprintf("validations, right and wrong codes 1:1, %d clients", f.ValidateClients),
		Measured: loadCell(l, "req/s"),
		Ratio: echoRatio(l.PerSec, echo, f.ValidateClients) + "; " +
			ratio(l.PerSec, f.BoltWrites, "bbolt"),
		Target:  fmt.Sprintf("≥ %.2f× Echo, p99 ≤ %.0f ms", ValidateShare, MaxP99),
		Verdict: judge(l.PerSec >= ValidateShare*echo && l.P99 <= MaxP99 && l.badShare() <= MaxBad),
	}
}

func tokenRow(f Figures) Row {
	l, echo := f.Tokens, paired(f.TokenEcho, f.Echo[f.TokenClients])
	return Row{ID: "tokens",
		Figure:   fmt.Sprintf("tokens issued (client credentials), %d clients", f.TokenClients),
		Measured: loadCell(l, "tokens/s"),
		Ratio:    echoRatio(l.PerSec, echo, f.TokenClients),
		Target:   fmt.Sprintf("≥ %.2f× Echo", TokenShare),
		Verdict:  judge(l.PerSec >= TokenShare*echo && l.badShare() <= MaxBad),
	}
}

func deliveryRow(f Figures) Row {
	d := f.Delivery
	measured := fmt.Sprintf("p50 %s, p99 %s; %d of %d delivered; API answered %s req/s",
		millis(d.P50), millis(d.P99), d.Delivered, d.Created, count(d.Achieved))
	ok := d.Created > 0 && d.Delivered == d.Created && d.P50 <= DeliveryP50 &&
		d.P99 <= DeliveryP99 && d.Achieved >= 0.95*d.Rate
	return Row{ID: "delivery",
		Figure:   fmt.Sprintf("request → SMTP server accepted, at %s req/s, 1 email worker", count(d.Rate)),
		Measured: measured,
		Target:   fmt.Sprintf("p50 ≤ %.0f ms, p99 ≤ %.0f ms", DeliveryP50, DeliveryP99),
		Verdict:  judge(ok),
	}
}

func workerRows(f Figures) []Row {
	one, two := f.EmailWorker[0], f.EmailWorker[1]
	return []Row{
		{ID: "email-1", Figure: "email worker → local SMTP server, 1 instance",
			Measured: count(one) + " msg/s", Target: fmt.Sprintf("≥ %.0f msg/s", WorkerRate),
			Verdict: judge(one >= WorkerRate)},
		{ID: "email-2", Figure: "email worker → local SMTP server, 2 instances",
			Measured: count(two) + " msg/s", Ratio: ratio(two, one, "1 instance"),
			Target:  fmt.Sprintf("> 1 instance, ≥ %.0f msg/s each", WorkerRate),
			Verdict: judge(two > one && two >= 2*WorkerRate)},
	}
}

func memoryRows(f Figures) []Row {
	m := f.Memory
	n := count(float64(m.Challenges))
	rows := []Row{
		{ID: "memory-live", Figure: fmt.Sprintf("mfa-api anonymous memory (RssAnon), %s live challenges", n),
			Measured: fmt.Sprintf("%s (%s before; file-backed %s not counted)", mb(m.LiveAnon),
				mb(m.BaselineAnon), mb(m.LiveRSSFile)),
			Target: fmt.Sprintf("≤ %s", mb(MaxAnon)), Verdict: judge(m.LiveAnon <= MaxAnon)},
		{ID: "file-live", Figure: fmt.Sprintf("bbolt file, %s live challenges", n),
			Measured: mb(m.LiveFile), Verdict: NoTarget},
		{ID: "memory-swept", Figure: "mfa-api anonymous memory after expiry and sweep",
			Measured: mb(m.SweptAnon), Verdict: NoTarget},
		{ID: "file-swept", Figure: "bbolt file after sweep, then after as many challenges again",
			Measured: fmt.Sprintf("%s, then %s", mb(m.SweptFile), mb(m.RefilledFile)),
			Target:   fmt.Sprintf("stops growing (≤ +%.0f%%)", MaxRegrowth*100),
			Verdict:  judge(float64(m.RefilledFile) <= (1+MaxRegrowth)*float64(m.LiveFile))},
	}

	if !m.Swept {
		for i := 2; i < 4; i++ {
			rows[i].Measured, rows[i].Verdict = "not measured: "+m.SkipReason, Skipped
		}
	}

	return rows
}

// ratioNote says which trivial-handler measurement each ratio uses.
func ratioNote(rounds int) string {
	paired := "a measurement taken just before the product figure at the same client count"
	if rounds > 1 {
		paired = fmt.Sprintf("one taken at the same client count, in turns with the product: "+
			"the two take %d rounds each that share the window, and each figure merges its "+
			"rounds (answers over their time, latencies together)", rounds)
	}
	return "Ratios to the trivial Echo handler use " + paired + "; bbolt and JetStream " +
		"ceilings are the ones at the top, shown for the figures they bound."
}

// repeatNote says which rounds were measured again, or nothing.
func repeatNote(repeats map[string]int) string {
	var parts []string
	for _, id := range RowIDs {
		switch r := repeats[id]; r {
		case 0:
		case 1:
			parts = append(parts, "once for "+roundName(id))
		default:
			parts = append(parts, fmt.Sprintf("%d times for %s", r, roundName(id)))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "A round was measured again " + strings.Join(parts, ", ") + ": the hypervisor " +
		"took more than a tenth of the CPU during the try before (the last try allowed is " +
		"kept whatever its share)."
}

// roundName names the figure of row id in a note.
func roundName(id string) string {
	if n, ok := strings.CutPrefix(id, "otp-"); ok {
		return "OTP requests at " + n + " clients"
	}
	if id == "validate" {
		return "validations"
	}
	return id
}

func notes(f Figures) []string {
	out := []string{
		"Every figure comes from this one run on this machine; the load generator " +
			"(mfactl bench) shares the CPU with the system under test.",
		ratioNote(f.Rounds),
		"CPU busy and stolen are shares of the machine's CPU time during a measurement: " +
			"busy ran anything here, \"by others\" is the part of it that processes the " +
			"benchmark did not start (such as builds beside it) used, stolen went to other " +
			"guests of the hypervisor; where either is high, the figure is low.",
	}

	if note := repeatNote(f.Repeats); note != "" {
		out = append(out, note)
	}

	if !f.Memory.Swept {
		out = append(out, "The sweeper deletes a challenge MFA_MAX_CODE_LIFETIME (10 min "+
			"by default, 30 s at least) plus MFA_CHALLENGE_RETENTION after its creation; "+
			"the after-sweep rows need a run that waits for it (BENCH_SWEEP=on in quick runs).")
	}

	return out
}

// paired returns the rate of the paired ceiling, or of the run's first
// one when no paired one was measured.
func paired(p, first Load) float64 {
	if p.PerSec > 0 {
		return p.PerSec
	}

	return first.PerSec
}

// echoRatio formats a ratio to the trivial handler, showing its rate.
func echoRatio(a, echo float64, clients int) string {
	return ratio(a, echo, fmt.Sprintf("Echo@%d (%s req/s)", clients, count(echo)))
}

// judge turns a condition into a verdict.
func judge(ok bool) Verdict {
	if ok {
		return Pass
	}

	return Fail
}

// loadCell formats a load figure.
func loadCell(l Load, unit string) string {
	s := fmt.Sprintf("%s %s, p50 %s, p99 %s", count(l.PerSec), unit, millis(l.P50), millis(l.P99))
	if l.Bad > 0 {
		s += fmt.Sprintf(" (%d of %d failed)", l.Bad, l.Requests)
	}

	return s
}

// ratio formats a/b as "0.31× name".
func ratio(a, b float64, name string) string {
	if b <= 0 {
		return "– " + name
	}

	return fmt.Sprintf("%.2f× %s", a/b, name)
}

// count formats a number with thousands separators.
func count(x float64) string {
	s := strconv.FormatInt(int64(x+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}

		b.WriteRune(c)
	}

	return b.String()
}

// millis formats milliseconds.
func millis(ms float64) string {
	if ms < 10 {
		return fmt.Sprintf("%.2f ms", ms)
	}

	return fmt.Sprintf("%.1f ms", ms)
}

// mb formats bytes as megabytes (10^6).
func mb(b int64) string {
	return fmt.Sprintf("%.1f MB", float64(b)/1e6)
}
