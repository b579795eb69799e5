package report

// Load is the outcome of one load-generator run.
type Load struct {
	// PerSec counts expected answers a second.
	PerSec float64
	// P50 and P99 are latency percentiles in milliseconds.
	P50, P99 float64
	// Requests counts measured requests; Bad counts unexpected answers
	// and transport errors among them.
	Requests, Bad int
	// SlowestSecond counts the expected answers of the slowest whole
	// second; -1 when the window had none.
	SlowestSecond int
}

// badShare is the share of requests that went wrong.
func (l Load) badShare() float64 {
	if l.Requests == 0 {
		return 1
	}

	return float64(l.Bad) / float64(l.Requests)
}

// Delivery is the request-to-SMTP measurement at a paced rate.
type Delivery struct {
	// Rate is the paced request rate a second; Achieved what the API
	// answered with 201 a second.
	Rate, Achieved float64
	// P50 and P99 are milliseconds from sending the request to the SMTP
	// server accepting the mail.
	P50, P99 float64
	// Created counts challenges in the measured window; Delivered how
	// many of them reached the SMTP server in time.
	Created, Delivered int
}

// Memory is the live-challenge measurement.
type Memory struct {
	// Challenges is how many live challenges were created.
	Challenges int
	// BaselineAnon, LiveAnon and SweptAnon are mfa-api's anonymous
	// resident memory in bytes: before, with every challenge live, and
	// after they were swept.
	BaselineAnon, LiveAnon, SweptAnon int64
	// LiveRSSFile is mfa-api's file-backed resident memory with every
	// challenge live, mostly the mmapped bbolt file; it is not counted.
	LiveRSSFile int64
	// LiveFile, SweptFile and RefilledFile are the bbolt file's size in
	// bytes: with every challenge live, after the sweep, and after as
	// many challenges again were created.
	LiveFile, SweptFile, RefilledFile int64
	// Swept reports whether the sweep was waited for; SkipReason says why
	// not.
	Swept      bool
	SkipReason string
}

// Figures are every number one run measured.
type Figures struct {
	// Quick marks a shortened run, whose figures prove only that the
	// harness works.
	Quick bool
	// Machine describes where the run happened.
	Machine string
	// Echo is the trivial handler's load by client count.
	Echo map[int]Load
	// BoltWrites and BoltCommits are raw DB.Batch calls and commits a
	// second with BoltGoroutines writers.
	BoltWrites, BoltCommits float64
	BoltGoroutines          int
	// JetStream is raw acked publishes a second with JetStreamWindow in
	// flight.
	JetStream       float64
	JetStreamWindow int
	// OTP is POST /v1/otp load by client count.
	OTP map[int]Load
	// OTPEcho, by client count, ValidateEcho and TokenEcho are the trivial
	// handler measured in turns with the product figure they bound.
	// Ratios use these paired ceilings, so that a change in the machine's
	// speed during the run (CPU steal) does not skew them.
	OTPEcho                 map[int]Load
	ValidateEcho, TokenEcho Load
	// Rounds is how many alternating rounds each paired figure merges, and
	// Repeats how many of its rounds were measured again, by row ID,
	// because the hypervisor took too much of the CPU during them.
	Rounds  int
	Repeats map[string]int
	// Validate is validation load with ValidateClients clients.
	Validate        Load
	ValidateClients int
	// Tokens is token endpoint load with TokenClients clients.
	Tokens       Load
	TokenClients int
	// Delivery is request to SMTP latency.
	Delivery Delivery
	// EmailWorker is messages a second reaching the SMTP server with one
	// and with two worker processes.
	EmailWorker [2]float64
	// Memory is the live-challenge measurement.
	Memory Memory
	// CPU is, by row ID, how the machine's CPU time was spent while the
	// row was measured.
	CPU map[string]CPUShare
}

// CPUShare splits the machine's CPU time over a measurement.
type CPUShare struct {
	// Busy is the share spent running anything on this machine.
	Busy float64
	// Other is the part of Busy spent by processes the benchmark did not
	// start, such as builds running beside it.
	Other float64
	// Steal is the share the hypervisor gave to other guests.
	Steal float64
}
