package limits

import (
	"errors"
	"math"
	"strings"
	"time"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

// ErrLimited is wrapped by *Exceeded.
var ErrLimited = errors.New("rate limited")

// Exceeded refuses a request; Limit names the rule and Wait how long
// until it would pass.
type Exceeded struct {
	Limit string
	Wait  time.Duration
}

// Error names the limit.
func (e *Exceeded) Error() string { return "rate limit " + e.Limit + " exceeded" }

// Is makes errors.Is(err, ErrLimited) true.
func (e *Exceeded) Is(target error) bool { return target == ErrLimited }

// RetryAfter returns the wait in whole seconds, at least 1.
func (e *Exceeded) RetryAfter() int { return max(1, int(math.Ceil(e.Wait.Seconds()))) }

// Names of the rules, as clients override them.
const (
	NameClient        = "client"
	NameDestination   = "destination"
	NameUser          = "user"
	NameIP            = "ip"
	NameSMSCountry    = "smsCountry"
	NameSMSPrefix     = "smsPrefix"
	NameFailures      = "failures"
	NameTokenFailures = "tokenFailures"
)

// Names lists every rule name.
var Names = []string{NameClient, NameDestination, NameUser, NameIP, NameSMSCountry, NameSMSPrefix,
	NameFailures, NameTokenFailures}

// Policy is every limit that applies to one client.
type Policy struct {
	Client, Destination, User, IP Rule
	SMSCountry, SMSPrefix         Rule
	Failures                      BudgetRule
}

// Defaults are the limits of a client without overrides.
var Defaults = Policy{
	Client:      Rule{Max: 6000, Window: time.Minute},
	Destination: Rule{Max: 10, Window: time.Hour},
	User:        Rule{Max: 20, Window: time.Hour},
	IP:          Rule{Max: 30, Window: time.Hour},
	SMSCountry:  Rule{Max: 1000, Window: time.Hour},
	SMSPrefix:   Rule{Max: 30, Window: time.Hour},
	Failures:    BudgetRule{Max: 10, Window: time.Hour, HardStop: 100},
}

// LongestWindow is the longest window a client may set on a limit; the
// sweeper keeps budgets at least this long.
const LongestWindow = 30 * 24 * time.Hour

// TokenFailures limits failed client authentications per source address
// on the token endpoint.
var TokenFailures = Rule{Max: 30, Window: time.Minute}

// For returns p with a client's overrides applied.
func (p Policy) For(over map[string]store.LimitRule) Policy {
	set := func(r *Rule, name string) {
		if o, ok := over[name]; ok {
			*r = Rule{Max: o.Max, Window: o.Window}
		}
	}

	set(&p.Client, NameClient)
	set(&p.Destination, NameDestination)
	set(&p.User, NameUser)
	set(&p.IP, NameIP)
	set(&p.SMSCountry, NameSMSCountry)
	set(&p.SMSPrefix, NameSMSPrefix)
	if o, ok := over[NameFailures]; ok {
		p.Failures = BudgetRule{Max: o.Max, Window: o.Window, HardStop: o.HardStop}
		if p.Failures.HardStop == 0 {
			p.Failures.HardStop = Defaults.Failures.HardStop
		}
	}

	return p
}

// Counters reads and writes counter state inside one store transaction.
type Counters interface {
	Get(key string) []byte
	Put(key string, value []byte) error
}

// Subject is who and what a request or validation is about.
type Subject struct {
	ClientID string
	UserName string
	// DestKey is the canonical destination; empty for TOTP.
	DestKey string
	// IP is the end user's address the application passed; may be empty.
	IP string
	// SMSRegion and SMSPrefix are set for SMS.
	SMSRegion, SMSPrefix string
}

// Key builds a counter key from parts, separated by NUL so that no part
// can forge another's key.
func Key(parts ...string) string { return strings.Join(parts, "\x00") }

// Keys of the failure budgets of s.
func (s Subject) budgetKeys() []string {
	keys := []string{Key("fb", "user", s.ClientID, s.UserName)}
	if s.DestKey != "" {
		keys = append(keys, Key("fb", "dest", s.ClientID, s.DestKey))
	}
	return keys
}

type check struct {
	name string
	key  string
	rule Rule
}

func (p Policy) requestChecks(s Subject) []check {
	out := []check{
		{NameClient, Key("rl", "client", s.ClientID), p.Client},
		{NameUser, Key("rl", "user", s.ClientID, s.UserName), p.User},
	}

	if s.DestKey != "" {
		out = append(out, check{NameDestination, Key("rl", "dest", s.ClientID, s.DestKey), p.Destination})
	}
	if s.IP != "" {
		out = append(out, check{NameIP, Key("rl", "ip", s.ClientID, s.IP), p.IP})
	}
	if s.SMSRegion != "" {
		out = append(out, check{NameSMSCountry, Key("rl", "smscc", s.ClientID, s.SMSRegion), p.SMSCountry},
			check{NameSMSPrefix, Key("rl", "smspfx", s.ClientID, s.SMSPrefix), p.SMSPrefix})
	}

	return out
}

// Rates holds rate counters outside the request's transaction (the
// store's write-behind counters).
type Rates interface {
	// Apply passes the values at keys (nil for none) to fn, which may
	// replace them; the replacements are kept when fn returns nil, and no
	// other Apply sees the keys in between.
	Apply(keys []string, fn func(vals [][]byte) error) error
}

// Charge is what ChargeRequest counted, to be refunded when the request
// is not carried out after all.
type Charge struct {
	rates     Rates
	keys      []string
	intervals []time.Duration
}

// ChargeRequest counts a request of s against its rate limits at now, all
// or none: when a limit refuses, nothing is counted and the error is an
// *Exceeded naming the limit with the longest wait. It checks no failure
// budget; CheckBudgets does, in the request's transaction.
func (p Policy) ChargeRequest(r Rates, s Subject, now time.Time) (Charge, error) {
	checks := p.requestChecks(s)
	ch := Charge{rates: r, keys: make([]string, len(checks)), intervals: make([]time.Duration, len(checks))}
	for i, c := range checks {
		ch.keys[i] = c.key
		if c.rule.Enabled() {
			ch.intervals[i] = c.rule.Window / time.Duration(c.rule.Max)
		}
	}

	err := r.Apply(ch.keys, func(vals [][]byte) error {
		var refused *Exceeded
		for i, c := range checks {
			tat, err := DecodeTime(vals[i])
			if err != nil {
				return err
			}
			next, wait, ok := Allow(tat, now, c.rule)
			switch {
			case !ok && (refused == nil || wait > refused.Wait):
				refused = &Exceeded{Limit: c.name, Wait: wait}
			case ok && c.rule.Enabled():
				vals[i] = EncodeTime(next)
			}
		}
		if refused != nil {
			return refused
		}
		return nil
	})
	if err != nil {
		return Charge{}, err
	}
	return ch, nil
}

// Refund takes back what the charge counted. GCRA is linear, so moving
// each arrival time back by one interval undoes one request even when
// others were counted since. A zero Charge refunds nothing.
func (ch Charge) Refund() error {
	if ch.rates == nil {
		return nil
	}
	return ch.rates.Apply(ch.keys, func(vals [][]byte) error {
		for i, d := range ch.intervals {
			if d == 0 || vals[i] == nil {
				continue
			}
			tat, err := DecodeTime(vals[i])
			if err != nil {
				return err
			}
			vals[i] = EncodeTime(tat.Add(-d))
		}
		return nil
	})
}

// CheckBudgets refuses while any failure budget of s is exhausted.
func (p Policy) CheckBudgets(ctrs Counters, s Subject, now time.Time) error {
	for _, k := range s.budgetKeys() {
		b, err := DecodeBudget(ctrs.Get(k))
		if err != nil {
			return err
		}
		if wait, refused := b.Refusal(now, p.Failures); refused {
			return &Exceeded{Limit: NameFailures, Wait: wait}
		}
	}

	return nil
}

// RecordFailure counts a wrong code against every budget of s.
func (p Policy) RecordFailure(ctrs Counters, s Subject, now time.Time) error {
	return p.update(ctrs, s, func(b *Budget) { b.Fail(now, p.Failures) })
}

// RecordSuccess ends the runs of failures of s.
func (p Policy) RecordSuccess(ctrs Counters, s Subject) error {
	return p.update(ctrs, s, func(b *Budget) { b.Succeed() })
}

func (p Policy) update(ctrs Counters, s Subject, fn func(*Budget)) error {
	for _, k := range s.budgetKeys() {
		raw := ctrs.Get(k)
		b, err := DecodeBudget(raw)
		if err != nil {
			return err
		}
		if raw == nil && b.Consecutive == 0 {
			fn(&b)
			if b.Count == 0 && b.Consecutive == 0 {
				continue // a success with no failures on record writes nothing
			}
		} else {
			fn(&b)
		}
		if err := ctrs.Put(k, b.Encode()); err != nil {
			return err
		}
	}

	return nil
}

// SMSPrefix is the number prefix the pumping guard counts: the E.164 form
// without its last four digits.
func SMSPrefix(e164 string) string {
	if len(e164) <= 6 {
		return e164
	}
	return e164[:len(e164)-4]
}

// KeysOf returns every counter key of a user and of the given canonical
// destinations of a client, for clearing or erasing them.
func KeysOf(clientID, userName string, destKeys []string) []string {
	var out []string
	if userName != "" {
		out = append(out, Key("rl", "user", clientID, userName), Key("fb", "user", clientID, userName))
	}
	for _, d := range destKeys {
		out = append(out, Key("rl", "dest", clientID, d), Key("fb", "dest", clientID, d))
	}
	return out
}
