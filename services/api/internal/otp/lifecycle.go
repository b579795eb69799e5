package otp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/destination"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/limits"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

// Errors of the challenge lifecycle.
var (
	// ErrRateLimited is wrapped by *RateLimitError.
	ErrRateLimited = errors.New("rate limited")
	// ErrIdempotencyReused is returned when an Idempotency-Key comes back
	// with a different request.
	ErrIdempotencyReused = errors.New("idempotency key reused with a different request")
)

// RateLimitError refuses a request for now; RetryAfter says for how long.
type RateLimitError struct {
	Wait   time.Duration
	Reason string
}

// Error gives the reason.
func (e *RateLimitError) Error() string { return "rate limited: " + e.Reason }

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// RetryAfter returns the wait in whole seconds, at least 1.
func (e *RateLimitError) RetryAfter() int {
	return max(1, int(math.Ceil(e.Wait.Seconds())))
}

// IdempotencyWindow is how long an Idempotency-Key is remembered.
const IdempotencyWindow = 24 * time.Hour

// insert stores c, counting it against the limits in guard and, with an
// idempotency key, remembering it. For a repeat of an idempotent request it
// stores nothing and returns the earlier challenge.
func (s *Service) insert(c *store.Challenge, r Request, guard store.Guard) (*store.Challenge, error) {
	var err error
	if r.IdempotencyKey == "" {
		err = s.store.CreateChallenge(c, guard)
	} else {
		err = s.store.CreateChallengeOnce(c, r.IdempotencyKey, r.BodyHash, IdempotencyWindow, guard)
	}
	var replayed *store.Replayed
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &replayed):
		prev, err := s.store.GetChallenge(replayed.AuthID)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return prev, nil
	case errors.Is(err, store.ErrIdempotencyConflict):
		return nil, ErrIdempotencyReused
	default:
		return nil, storeErr(err)
	}
}

// storeErr is the answer to a failed write of a new challenge: a failure
// budget's refusal as it is, anything else as ErrUnavailable.
func storeErr(err error) error {
	if errors.Is(err, limits.ErrLimited) {
		return err
	}
	return fmt.Errorf("%w: storing challenge: %w", ErrUnavailable, err)
}

// Resend replaces the challenge's code with a new one and sends it; the old
// code stops working. The attempt count is not reset. It fails with
// ErrNotFound, ErrAlreadyUsed, ErrLocked, ErrExpired, ErrNotResendable, a
// *RateLimitError (cooldown or cap), or ErrUnavailable.
func (s *Service) Resend(ctx context.Context, client *store.Client, authID string) (*store.Challenge, error) {
	p, pol := s.policy.For(client.Policy), s.limits.For(client.Limits)
	// A resend is one more message: it counts against the same limits as
	// a request, the SMS pumping guard among them. The rates are charged
	// before the transaction, from the challenge as it was read, and
	// refunded unless the resend goes through.
	first, err := s.store.GetChallenge(authID)
	if err != nil {
		return nil, lifecycleErr(err, nil)
	}
	if err := s.checkResend(client.ID, first, p); err != nil {
		return nil, err
	}
	sub := resendSubject(first)
	charge, err := s.charge(pol, sub, s.now())
	if err != nil {
		s.refused(first, sub, err)
		return nil, err
	}

	updated, published, err := s.resend(ctx, client, authID, p, pol, sub)
	if err != nil && !published {
		if rerr := s.refund(charge); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return updated, err
}

// resend is Resend once the rates are charged: it replaces the code in
// one transaction, checking the challenge and the failure budgets again,
// and publishes the new code. The bool reports that a publish was tried,
// so that the new code may be on its way even if it failed.
func (s *Service) resend(ctx context.Context, client *store.Client, authID string, p Policy,
	pol limits.Policy, sub limits.Subject) (*store.Challenge, bool, error) {
	code := NewCode(p.CodeLength)
	var outcome error
	var updated, before store.Challenge
	err := s.store.UpdateChallengeWithEnrollment(authID,
		func(c *store.Challenge, _ *store.Enrollment, ctrs store.Counters) (bool, bool, error) {
			if outcome = s.checkResend(client.ID, c, p); outcome != nil {
				return false, false, nil
			}
			if outcome = pol.CheckBudgets(ctrs, sub, s.now()); outcome != nil {
				before = *c
				return false, false, nil
			}
			before = *c
			c.Generation++
			c.Resends++
			c.SentAt = s.now().UTC()
			c.HashKeyID, c.CodeHash = codeHash(s.hasher, c.ID, c.Generation, code)
			updated = *c
			return true, false, nil
		})
	if err := lifecycleErr(err, outcome); err != nil {
		s.refused(&before, sub, err)
		return nil, false, err
	}

	dest, err := s.data.Open(updated.SealedDestination, []byte(updated.ID))
	if err != nil {
		return nil, false, fmt.Errorf("%w: unsealing destination: %w", ErrUnavailable, err)
	}
	secret := events.Secret{Code: code, Destination: string(dest), UserName: updated.UserName}
	if err := s.publish(ctx, client, &updated, 0, secret); err != nil {
		return nil, true, errors.Join(err, s.undoResend(&before, updated.Generation))
	}
	return &updated, true, nil
}

// resendSubject is what a resend of c counts against.
func resendSubject(c *store.Challenge) limits.Subject {
	sub := limits.Subject{ClientID: c.ClientID, UserName: c.UserName, DestKey: c.LimitKey}
	if number, ok := strings.CutPrefix(c.LimitKey, "phone:"); ok {
		if ph, err := destination.ParsePhone(number, destination.PhoneOptions{}); err == nil {
			sub.SMSRegion, sub.SMSPrefix = ph.Region, limits.SMSPrefix(ph.E164)
		}
	}
	return sub
}

func (s *Service) checkResend(clientID string, c *store.Challenge, p Policy) error {
	now := s.now().UTC()
	switch {
	case c.ClientID != clientID:
		return ErrNotFound
	case c.State == store.ChallengeValidated:
		return ErrAlreadyUsed
	case c.Locked():
		return ErrLocked
	case c.State == store.ChallengeCancelled || c.Expired(now):
		return ErrExpired
	case c.DeviceType == store.DeviceTOTP:
		return ErrNotResendable
	case c.Resends >= p.MaxResends:
		return &RateLimitError{Wait: c.ExpiresAt.Sub(now), Reason: "resend limit reached"}
	case now.Sub(c.SentAt) < p.ResendCooldown:
		return &RateLimitError{Wait: p.ResendCooldown - now.Sub(c.SentAt), Reason: "resend cooldown"}
	}
	return nil
}

// undoResend puts back the code a failed resend replaced, unless another
// change came in between.
func (s *Service) undoResend(before *store.Challenge, generation int) error {
	return s.store.UpdateChallenge(before.ID, func(c *store.Challenge) (bool, error) {
		if c.Generation != generation {
			return false, nil
		}
		c.Generation, c.Resends, c.SentAt = before.Generation, before.Resends, before.SentAt
		c.HashKeyID, c.CodeHash = before.HashKeyID, before.CodeHash
		return true, nil
	})
}

// Cancel ends a challenge; its code stops working at once. Cancelling
// twice is not an error. It fails with ErrNotFound or ErrAlreadyUsed.
func (s *Service) Cancel(client *store.Client, authID string) error {
	var outcome error
	err := s.store.UpdateChallenge(authID, func(c *store.Challenge) (bool, error) {
		outcome = nil
		switch {
		case c.ClientID != client.ID:
			outcome = ErrNotFound
		case c.State == store.ChallengeValidated:
			outcome = ErrAlreadyUsed
		case c.State == store.ChallengeCancelled:
		default:
			c.State, c.CancelledAt = store.ChallengeCancelled, s.now().UTC()
			return true, nil
		}
		return false, nil
	})

	return lifecycleErr(err, outcome)
}

func lifecycleErr(err, outcome error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return outcome
}

// ApplyStatus records a delivery outcome in the challenge's history. A
// status for a challenge that is gone, or naming another client, is
// dropped; one without a client (a provider's signed receipt) is matched by
// its id alone.
func (s *Service) ApplyStatus(st events.Status) error {
	err := s.store.UpdateChallengeUnhurried(st.AuthID, func(c *store.Challenge) (bool, error) {
		if st.ClientID != "" && c.ClientID != st.ClientID {
			return false, nil
		}
		c.AddDelivery(store.DeliveryRecord{Generation: st.Generation, Replay: st.Replay, State: st.State,
			Attempt: st.Attempt, ProviderID: st.ProviderID, Reason: st.Reason, Error: st.Error, At: st.At})
		return true, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// Why a dead-lettered delivery is not replayed.
const (
	SkipExpired    = "expired"
	SkipValidated  = "validated"
	SkipCancelled  = "cancelled"
	SkipSuperseded = "superseded"
	SkipLocked     = "locked"
)

// PrepareReplay decides whether the delivery of generation of authID may be
// sent again, and if so (and not dryRun) counts the replay and returns its
// number. skip names the reason when it may not.
func (s *Service) PrepareReplay(authID string, generation int, dryRun bool) (replay int, skip string, err error) {
	err = s.store.UpdateChallenge(authID, func(c *store.Challenge) (bool, error) {
		replay, skip = 0, replaySkip(c, generation, s.now())
		if skip != "" || dryRun {
			replay = c.Replays + 1
			return false, nil
		}

		c.Replays++
		replay = c.Replays
		return true, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return 0, SkipExpired, nil
	}
	return replay, skip, err
}

func replaySkip(c *store.Challenge, generation int, now time.Time) string {
	switch {
	case c.State == store.ChallengeValidated:
		return SkipValidated
	case c.State == store.ChallengeCancelled:
		return SkipCancelled
	case c.Expired(now):
		return SkipExpired
	case c.Locked():
		return SkipLocked
	case c.Generation != generation:
		return SkipSuperseded + " by generation " + strconv.Itoa(c.Generation)
	}
	return ""
}
