package otp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/pkg/redact"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/destination"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/keyedhash"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/limits"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/metrics"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

// Publisher puts a delivery event into JetStream. Publish returns once it
// is acknowledged; Start returns at once, with a wait for the ack.
type Publisher interface {
	Publish(ctx context.Context, d *events.Delivery) error
	Start(d *events.Delivery) (wait func() error, err error)
}

// TOTPVerifier checks an authenticator code against an enrollment (nil
// when the user has none, which never matches) and returns the step to
// record.
type TOTPVerifier interface {
	Verify(e *store.Enrollment, code string, now time.Time) (int64, bool)
}

// Templates reports the version of a template that exists, or fails.
type Templates interface {
	Version(clientID, name string) (int, error)
}

// Service issues and validates challenges. It is safe for concurrent use.
type Service struct {
	store     *store.Store
	hasher    *keyedhash.Hasher
	data      *keyring.AEAD
	delivery  *keyring.AEAD
	pub       Publisher
	templates Templates
	totp      TOTPVerifier
	policy    Policy
	limits    limits.Policy
	metrics   *metrics.Metrics
	log       *slog.Logger
	now       func() time.Time
	keys      *keyLocks
}

// Deps are what a Service needs.
type Deps struct {
	Store     *store.Store
	Hasher    *keyedhash.Hasher
	DataKeys  *keyring.AEAD
	Delivery  *keyring.AEAD
	Publisher Publisher
	Templates Templates
	TOTP      TOTPVerifier
	Policy    Policy
	// Limits are the default rate limits; zero takes limits.Defaults.
	Limits  limits.Policy
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// NewService returns a Service.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Policy.CodeLength == 0 {
		d.Policy = DefaultPolicy
	}
	if d.Limits == (limits.Policy{}) {
		d.Limits = limits.Defaults
	}
	return &Service{keys: newKeyLocks(), store: d.Store, hasher: d.Hasher, data: d.DataKeys, delivery: d.Delivery,
		pub: d.Publisher, templates: d.Templates, totp: d.TOTP, policy: d.Policy, limits: d.Limits,
		metrics: d.Metrics, log: d.Logger, now: d.Now}
}

// Request asks for a challenge.
type Request struct {
	UserName    string
	DeviceType  store.DeviceType
	Email       string
	PhoneNumber string
	Template    string
	Locale      string
	// ExpiresIn is the requested lifetime; zero takes the policy's.
	ExpiresIn time.Duration
	// IPAddress is the end user's address, when the application passes it.
	IPAddress string
	// IdempotencyKey, when set, makes a repeat of the same request (same
	// BodyHash) within 24 hours return the first challenge and send
	// nothing.
	IdempotencyKey string
	BodyHash       []byte
}

// target is a parsed destination.
type target struct {
	address string
	key     string
	// region is set for phone numbers.
	region string
}

// Create validates r, stores a challenge and, for email and SMS, publishes
// its delivery. It returns only once both are durable. A repeat of an
// idempotent request returns the first challenge. It fails with an
// *InputError, ErrDeviceType, ErrTemplate, ErrExpiry, ErrIdempotencyReused
// or ErrUnavailable (nothing is left stored).
func (s *Service) Create(ctx context.Context, client *store.Client, r Request) (*store.Challenge, error) {
	if r.IdempotencyKey != "" {
		defer s.keys.lock(client.ID, r.IdempotencyKey)()
	}
	p := s.policy.For(client.Policy)
	c, dest, err := s.prepare(client, p, r)
	if err != nil {
		s.metrics.Request(r.DeviceType.String(), "refused")
		return nil, err
	}

	subject := limits.Subject{ClientID: client.ID, UserName: c.UserName, DestKey: c.LimitKey, IP: r.IPAddress}
	if dest.region != "" {
		subject.SMSRegion, subject.SMSPrefix = dest.region, limits.SMSPrefix(dest.address)
	}
	pol, now := s.limits.For(client.Limits), c.CreatedAt
	charge, err := s.charge(pol, subject, now)
	if err != nil {
		// A repeat of an idempotent request gets its first answer, even
		// once the limits would refuse a new one.
		if prev, ok, perr := s.repeated(client, r, now); ok {
			return prev, perr
		}
		s.refused(c, subject, err)
		return nil, err
	}

	cr := &creation{client: client, c: c, r: r, pol: pol, subject: subject, charge: charge}
	if c.DeviceType == store.DeviceTOTP {
		return s.storeOnly(cr)
	}
	code := NewCode(p.CodeLength)
	c.HashKeyID, c.CodeHash = codeHash(s.hasher, c.ID, c.Generation, code)
	secret := events.Secret{Code: code, Destination: dest.address, UserName: c.UserName}
	if r.IdempotencyKey != "" {
		return s.storeThenPublish(ctx, cr, secret)
	}
	return s.publishWhileStoring(cr, secret)
}

// creation is a request being created once its challenge is built and
// its rates are charged.
type creation struct {
	client  *store.Client
	c       *store.Challenge
	r       Request
	pol     limits.Policy
	subject limits.Subject
	charge  limits.Charge
}

// guard checks the failure budgets in the write that stores the challenge.
func (cr *creation) guard(ctrs store.Counters) error {
	return cr.pol.CheckBudgets(ctrs, cr.subject, cr.c.CreatedAt)
}

// storeOnly stores a challenge that sends nothing: a TOTP one.
func (s *Service) storeOnly(cr *creation) (*store.Challenge, error) {
	prev, err := s.insert(cr.c, cr.r, cr.guard)
	if err != nil || prev != nil {
		return prev, s.undoCharge(cr, err)
	}
	s.metrics.Request(cr.c.DeviceType.String(), "created")
	return cr.c, nil
}

// storeThenPublish stores the challenge and only then publishes its
// delivery, for a request with an Idempotency-Key: whether it repeats an
// earlier one, and so must send nothing, is known only once its key is
// stored.
func (s *Service) storeThenPublish(ctx context.Context, cr *creation, secret events.Secret) (*store.Challenge, error) {
	prev, err := s.insert(cr.c, cr.r, cr.guard)
	if err != nil || prev != nil {
		return prev, s.undoCharge(cr, err)
	}
	if err := s.publish(ctx, cr.client, cr.c, 0, secret); err != nil {
		// The charge stays: after a timeout the event may be stored and
		// sent all the same.
		s.metrics.Request(cr.c.DeviceType.String(), "unavailable")
		return nil, errors.Join(err, s.store.DeleteChallenge(cr.c.ID))
	}
	s.metrics.Request(cr.c.DeviceType.String(), "created")
	return cr.c, nil
}

// errNotCommitted is why a delivery was not published: the store gave up
// on the write before its commit began.
var errNotCommitted = errors.New("the challenge's write never reached a commit")

// publishWhileStoring publishes the delivery as the commit that stores the
// challenge begins, and answers once both are durable, so that a request
// waits for the longer of the two instead of their sum. The publishes of
// one commit leave together, so the NATS connection sends them in few
// writes. The failure budgets are checked before, and again in the write,
// which decides.
//
// A code is sent for nothing only when the commit fails or a budget runs
// out in between. Such a code matches no stored challenge, so it can
// never validate, and the request is refused all the same; its charge
// stays, as a message is on its way.
func (s *Service) publishWhileStoring(cr *creation, secret events.Secret) (*store.Challenge, error) {
	c := cr.c
	if err := cr.pol.CheckBudgets(storedCounters{s.store}, cr.subject, c.CreatedAt); err != nil {
		return nil, s.undoCharge(cr, storeErr(err))
	}
	d, err := s.deliveryOf(cr.client, c, 0, secret)
	if err != nil {
		return nil, s.undoCharge(cr, err)
	}

	// The publish starts on the store's committing goroutine, so that the
	// publishes of one commit go out together; Start never waits there.
	// A write the store refuses before its commit begins never calls the
	// start: then nothing was sent either.
	wait, unsent := func() error { return errNotCommitted }, errNotCommitted
	err = s.store.CreateChallengeStarting(c, cr.guard, func() {
		unsent = nil
		defer func() {
			if p := recover(); p != nil {
				unsent = fmt.Errorf("publishing panicked: %v", p)
			}
		}()
		if next, err := s.pub.Start(d); err == nil {
			wait = next
		} else {
			unsent = err
		}
	})
	published := unsent
	if unsent == nil {
		published = wait()
	}
	switch {
	case err != nil && unsent != nil:
		// Nothing went out: the request is refused as if it never came.
		return nil, s.undoCharge(cr, storeErr(err))
	case err != nil:
		s.refused(c, cr.subject, err)
		s.log.Warn("a code may have been sent for a challenge that was not stored; it cannot validate",
			slog.String(logging.KeyClientID, c.ClientID), logging.Err(err))
		return nil, storeErr(err)
	case published != nil:
		s.metrics.Request(c.DeviceType.String(), "unavailable")
		err := errors.Join(fmt.Errorf("%w: %w", ErrUnavailable, published), s.store.DeleteChallenge(c.ID))
		if unsent != nil {
			err = s.undoCharge(cr, err)
		}
		return nil, err
	}
	s.metrics.Request(c.DeviceType.String(), "created")
	return c, nil
}

// undoCharge refunds the charge of a request that stored nothing and sent
// nothing, and counts a refusal.
func (s *Service) undoCharge(cr *creation, err error) error {
	s.refused(cr.c, cr.subject, err)
	if rerr := s.refund(cr.charge); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return err
}

// charge counts a request of subject against its rate limits. When one
// refuses while a failure budget is also exhausted, the budget's refusal
// is returned, as the transaction would have: it is the one that lasts.
func (s *Service) charge(pol limits.Policy, subject limits.Subject, now time.Time) (limits.Charge, error) {
	ch, err := pol.ChargeRequest(s.store.Rates(), subject, now)
	switch {
	case err == nil:
		return ch, nil
	case !errors.Is(err, limits.ErrLimited):
		return ch, fmt.Errorf("%w: counting request: %w", ErrUnavailable, err)
	}
	if budget := pol.CheckBudgets(storedCounters{s.store}, subject, now); budget != nil {
		if errors.Is(budget, limits.ErrLimited) {
			return ch, budget
		}
		return ch, fmt.Errorf("%w: reading failure budget: %w", ErrUnavailable, budget)
	}
	return ch, err
}

// repeated reports whether r repeats an earlier idempotent request (the
// first challenge is returned) or reuses its key for another request
// (ErrIdempotencyReused).
func (s *Service) repeated(client *store.Client, r Request, now time.Time) (*store.Challenge, bool, error) {
	if r.IdempotencyKey == "" {
		return nil, false, nil
	}
	var replayed *store.Replayed
	switch err := s.store.EarlierUse(client.ID, r.IdempotencyKey, r.BodyHash, now, IdempotencyWindow); {
	case err == nil:
		return nil, false, nil
	case errors.As(err, &replayed):
		prev, err := s.store.GetChallenge(replayed.AuthID)
		if err != nil {
			return nil, true, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return prev, true, nil
	case errors.Is(err, store.ErrIdempotencyConflict):
		return nil, true, ErrIdempotencyReused
	default:
		return nil, true, fmt.Errorf("%w: reading idempotency key: %w", ErrUnavailable, err)
	}
}

// refund takes back a charge for a request that was not carried out.
func (s *Service) refund(ch limits.Charge) error {
	if err := ch.Refund(); err != nil {
		return fmt.Errorf("refunding rate limits: %w", err)
	}
	return nil
}

// storedCounters reads counters outside a transaction, for checks that
// write nothing.
type storedCounters struct{ st *store.Store }

// Get returns the counter at key, or nil also when it cannot be read.
func (c storedCounters) Get(key string) []byte {
	v, _ := c.st.ReadCounter(key)
	return v
}

// Put refuses: these counters are read-only.
func (storedCounters) Put(string, []byte) error {
	return errors.New("otp: counters are read-only here")
}

// refused logs and counts a request a limit turned down.
func (s *Service) refused(c *store.Challenge, subject limits.Subject, err error) {
	var ex *limits.Exceeded
	if !errors.As(err, &ex) {
		return
	}
	s.metrics.Limited(ex.Limit)
	s.metrics.Request(c.DeviceType.String(), "rate_limited")
	if ex.Limit == limits.NameSMSCountry || ex.Limit == limits.NameSMSPrefix {
		s.metrics.Pumping(subject.SMSRegion)
		s.log.Warn("sms pumping guard refused a request", slog.String("limit", ex.Limit),
			slog.String(logging.KeyClientID, subject.ClientID), slog.String("region", subject.SMSRegion),
			slog.String("prefix", redact.Phone(subject.SMSPrefix+"0000")))
	}
}

// prepare checks the request against the client and builds the challenge.
func (s *Service) prepare(client *store.Client, p Policy, r Request) (*store.Challenge, target, error) {
	if !client.Allows(r.DeviceType) {
		return nil, target{}, ErrDeviceType
	}
	lifetime := p.Lifetime
	if r.ExpiresIn != 0 {
		if r.ExpiresIn < MinLifetime || r.ExpiresIn > p.MaxLifetime {
			return nil, target{}, ErrExpiry
		}
		lifetime = r.ExpiresIn
	}

	now := s.now().UTC()
	c := &store.Challenge{
		ID: store.NewChallengeID(), ClientID: client.ID, UserName: r.UserName,
		DeviceType: r.DeviceType, State: store.ChallengePending, Generation: 1,
		MaxAttempts: p.MaxAttempts, Locale: r.Locale,
		CreatedAt: now, ExpiresAt: now.Add(lifetime), SentAt: now,
	}

	if r.DeviceType == store.DeviceTOTP {
		return c, target{}, nil
	}
	dest, err := parseTarget(r, client.Destinations)
	if err != nil {
		return nil, target{}, err
	}
	name := r.Template
	if name == "" {
		name = client.DefaultTemplate
	}
	if name == "" || !client.AllowsTemplate(name) {
		return nil, target{}, ErrTemplate
	}
	version, err := s.templates.Version(client.ID, name)
	if err != nil {
		return nil, target{}, ErrTemplate
	}
	c.Template, c.TemplateVersion = name, version
	c.LimitKey = dest.key
	c.MaskedDestination = redact.Destination(dest.address)
	c.SealedDestination = s.data.Seal([]byte(dest.address), []byte(c.ID))

	return c, dest, nil
}

func parseTarget(r Request, p store.DestinationPolicy) (target, error) {
	switch r.DeviceType {
	case store.DeviceEmail:
		e, err := destination.ParseEmail(r.Email, destination.EmailOptions{AllowUnicodeLocal: p.AllowUnicodeEmail})
		if err != nil {
			return target{}, err
		}
		return target{address: e.Address, key: "email:" + e.Key}, nil
	case store.DeviceSMS:
		ph, err := destination.ParsePhone(r.PhoneNumber, destination.PhoneOptions{
			DefaultRegion: p.DefaultRegion, AllowedRegions: p.AllowedCountries})
		if err != nil {
			return target{}, err
		}
		return target{address: ph.E164, key: "phone:" + ph.E164, region: ph.Region}, nil
	default:
		return target{}, ErrDeviceType
	}
}

// publish seals the secret into a delivery event and publishes it.
func (s *Service) publish(ctx context.Context, client *store.Client, c *store.Challenge, replay int,
	secret events.Secret) error {
	d, err := s.deliveryOf(client, c, replay, secret)
	if err != nil {
		return err
	}
	if err := s.pub.Publish(ctx, d); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// deliveryOf builds the delivery event of c with the secret sealed in.
func (s *Service) deliveryOf(client *store.Client, c *store.Challenge, replay int,
	secret events.Secret) (*events.Delivery, error) {
	ch, _ := c.DeviceType.Channel()
	d := &events.Delivery{
		AuthID: c.ID, ClientID: c.ClientID, Channel: ch, Generation: c.Generation,
		Replay: replay, Template: c.Template, TemplateVersion: c.TemplateVersion,
		Locale: c.Locale, AppName: client.Name, Brand: client.Brand,
		SMSMaxSegments: client.SMSMaxSegments, CreatedAt: s.now().UTC(), ExpiresAt: c.ExpiresAt,
		Sender: events.Sender{
			FromAddress: client.EmailSender.FromAddress, FromName: client.EmailSender.FromName,
			ReplyTo: client.EmailSender.ReplyTo, DKIMDomain: client.EmailSender.DKIMDomain,
			SMSFrom: client.SMSSender,
		},
	}

	if err := d.Seal(s.delivery, secret); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return d, nil
}

// Get returns the challenge authID of client. It fails with ErrNotFound,
// also for another client's challenge.
func (s *Service) Get(clientID, authID string) (*store.Challenge, error) {
	c, err := s.store.GetChallenge(authID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.ClientID != clientID) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return c, nil
}

// Validate checks code against challenge authID of client. It returns nil
// when the code is right and consumes the challenge. It fails with
// ErrNotFound, ErrAlreadyUsed, ErrLocked, ErrExpired or an
// *InvalidCodeError, in that order of precedence, or ErrUnavailable.
func (s *Service) Validate(ctx context.Context, client *store.Client, authID, code string) error {
	var outcome error
	pol := s.limits.For(client.Limits)
	deviceType := "unknown"
	err := s.store.UpdateChallengeWithEnrollment(authID,
		func(c *store.Challenge, e *store.Enrollment, ctrs store.Counters) (bool, bool, error) {
			var writeC, writeE bool
			if c.ClientID == client.ID { // another client's challenge must look unknown, in metrics too
				deviceType = c.DeviceType.String()
			}
			writeC, writeE, outcome = s.check(client.ID, c, e, code, pol, ctrs)
			return writeC, writeE, nil
		})
	s.metrics.Validation(deviceType, resultOf(err, outcome))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if outcome == nil {
		s.log.Debug("challenge validated", slog.String(logging.KeyAuthID, authID),
			slog.String(logging.KeyClientID, client.ID))
	}

	return outcome
}

// check decides one validation inside the write transaction and reports
// whether the challenge and the enrollment changed. It may run more than
// once; it only touches c, e, the counters and its results. A failure
// budget that is exhausted refuses before the code is compared.
func (s *Service) check(clientID string, c *store.Challenge, e *store.Enrollment, code string,
	pol limits.Policy, ctrs store.Counters) (bool, bool, error) {
	now := s.now().UTC()
	switch {
	case c.ClientID != clientID:
		return false, false, ErrNotFound
	case c.State == store.ChallengeValidated:
		return false, false, ErrAlreadyUsed
	case c.Locked():
		return false, false, ErrLocked
	case c.State == store.ChallengeCancelled || c.Expired(now):
		return false, false, ErrExpired
	}
	subject := limits.Subject{ClientID: c.ClientID, UserName: c.UserName, DestKey: c.LimitKey}
	if err := pol.CheckBudgets(ctrs, subject, now); err != nil {
		return false, false, err
	}
	ok, writeE := s.compare(c, e, code, now)
	if ok {
		c.State, c.ValidatedAt = store.ChallengeValidated, now
		return true, writeE, pol.RecordSuccess(ctrs, subject)
	}

	c.Attempts++
	if err := pol.RecordFailure(ctrs, subject, now); err != nil {
		return false, false, err
	}
	return true, false, &InvalidCodeError{Remaining: c.MaxAttempts - c.Attempts}
}

// compare checks the code: the keyed hash for email and SMS, the user's
// enrollment for TOTP (recording the step used).
func (s *Service) compare(c *store.Challenge, e *store.Enrollment, code string, now time.Time) (bool, bool) {
	if c.DeviceType != store.DeviceTOTP {
		return verifyCode(s.hasher, c.HashKeyID, c.CodeHash, c.ID, c.Generation, code), false
	}
	step, ok := s.totp.Verify(e, code, now)
	if ok {
		e.LastStep = step
	}
	return ok, ok
}

func resultOf(err, outcome error) string {
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(outcome, ErrNotFound):
		return "not_found"
	case err != nil:
		return "error"
	case outcome == nil:
		return "success"
	case errors.Is(outcome, ErrInvalidCode):
		return "invalid"
	case errors.Is(outcome, limits.ErrLimited):
		return "rate_limited"
	default:
		return "refused"
	}
}
