// Package app wires mfa-api together: it opens the store, connects to (or
// embeds) NATS, creates the streams, builds the services and serves the
// public and admin listeners, then shuts all of it down in order.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/pkg/natsconn"
	"github.com/ciam-mfa/ciam-mfa/pkg/natsembed"
	"github.com/ciam-mfa/ciam-mfa/pkg/render"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/admin"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/branding"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/clients"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/config"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/delivery"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/dlq"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/httpapi"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/keyedhash"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/limits"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/metrics"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/oauth"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/otp"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/totp"
	"github.com/ciam-mfa/ciam-mfa/templates"
)

// App is a running mfa-api.
type App struct {
	cfg config.Config
	log *slog.Logger

	store    *store.Store
	embedded *server.Server
	nc       *nats.Conn
	js       jetstream.JetStream

	clients  *clients.Registry
	keys     *oauth.Keys
	tokens   *oauth.Tokens
	otp      *otp.Service
	totp     *totp.Service
	dlq      *dlq.Service
	metrics  *metrics.Metrics
	branding *branding.Service

	public, admin     *http.Server
	publicLn, adminLn net.Listener

	// counterCursor is where the next counter sweep starts; only the
	// sweeper goroutine touches it.
	counterCursor string
}

// New opens every dependency and binds both listeners; Run serves them.
// On error, whatever was opened is closed again.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *App, err error) {
	a := &App{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			err = errors.Join(err, a.close())
		}
	}()
	if err := a.openStore(); err != nil {
		return nil, err
	}
	if err := a.openNATS(ctx); err != nil {
		return nil, err
	}
	if err := a.buildServices(); err != nil {
		return nil, err
	}
	if err := a.listen(); err != nil {
		return nil, err
	}
	if cfg.DemoClient {
		if err := a.ensureDemoClient(); err != nil {
			return nil, err
		}
	}

	return a, nil
}

func (a *App) openStore() error {
	st, err := store.Open(a.cfg.StorePath(), store.Options{
		MaxBatchSize: a.cfg.BatchSize,
		OnFlushError: func(err error) {
			a.log.Warn("writing rate counters failed; retrying at the next flush", logging.Err(err))
		},
	})
	if err != nil {
		return err
	}
	a.store = st

	return nil
}

func (a *App) openNATS(ctx context.Context) error {
	url := a.cfg.NATSURL
	if url == "" {
		host, port, err := net.SplitHostPort(a.cfg.NATSListen)
		if err != nil {
			return fmt.Errorf("MFA_NATS_LISTEN: %w", err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return fmt.Errorf("MFA_NATS_LISTEN: %w", err)
		}
		srv, err := natsembed.Start(natsembed.Options{Host: host, Port: p, Name: "mfa-api",
			StoreDir: filepath.Join(a.cfg.DataDir, "jetstream"), SyncInterval: a.cfg.NATSSyncInterval,
			Token: a.cfg.NATSToken})
		if err != nil {
			return fmt.Errorf("starting embedded nats: %w", err)
		}
		a.embedded, url = srv, srv.ClientURL()
		a.log.Info("embedded nats started", slog.String(logging.KeyAddr, url))
	}

	nc, js, err := natsconn.Connect(url, a.cfg.NATSToken, "mfa-api", a.log)
	if err != nil {
		return err
	}
	a.nc, a.js = nc, js
	if err := events.EnsureStreams(ctx, js, events.StreamOptions{Replicas: a.cfg.StreamReplicas}); err != nil {
		return err
	}
	if err := events.EnsureBuckets(ctx, js, a.cfg.StreamReplicas); err != nil {
		return err
	}
	for _, ch := range events.Channels {
		if err := events.EnsureConsumer(ctx, js, ch); err != nil {
			return err
		}
	}

	return nil
}

func (a *App) buildServices() error {
	hasher, err := keyedhash.New(a.cfg.HMACKeys)
	if err != nil {
		return fmt.Errorf("MFA_HMAC_KEYS: %w", err)
	}
	dataKeys, err := keyring.NewAEAD(a.cfg.DataKeys)
	if err != nil {
		return fmt.Errorf("MFA_DATA_KEYS: %w", err)
	}
	deliveryKeys, err := keyring.NewAEAD(a.cfg.DeliveryKeys)
	if err != nil {
		return fmt.Errorf("MFA_DELIVERY_KEYS: %w", err)
	}
	builtin, err := render.Defaults(templates.FS, a.cfg.TemplatesDir)
	if err != nil {
		return fmt.Errorf("MFA_TEMPLATES_DIR: %w", err)
	}
	if a.branding, err = branding.New(context.Background(), a.store, a.js, dataKeys, deliveryKeys,
		builtin, a.log); err != nil {
		return err
	}
	if a.clients, err = clients.Load(a.store, hasher); err != nil {
		return err
	}
	if a.keys, err = oauth.LoadKeys(a.store, dataKeys, a.cfg.TokenTTL); err != nil {
		return err
	}
	a.tokens = oauth.NewTokens(oauth.Config{Issuer: a.cfg.Issuer, Audience: a.cfg.Audience,
		TTL: a.cfg.TokenTTL}, a.keys, a.clients)
	a.totp = totp.NewService(a.store, dataKeys, totp.Settings{}, nil)
	pub, err := delivery.NewPublisher(a.nc, a.cfg.PublishTimeout)
	if err != nil {
		return err
	}
	a.metrics = metrics.New()
	a.otp = otp.NewService(otp.Deps{
		Store: a.store, Hasher: hasher, DataKeys: dataKeys, Delivery: deliveryKeys,
		Publisher: pub, Templates: a.branding, TOTP: a.totp, Policy: a.policy(),
		Limits: limits.Defaults, Metrics: a.metrics, Logger: a.log,
	})
	a.dlq = dlq.New(a.js, a.otp, pub)

	return nil
}

// policy is the default code policy under the deployment's lifetime cap.
func (a *App) policy() otp.Policy {
	p := otp.DefaultPolicy
	p.MaxLifetime = a.cfg.MaxCodeLifetime
	p.Lifetime = min(p.Lifetime, p.MaxLifetime)
	return p
}

func (a *App) listen() error {
	pub := httpapi.New(httpapi.Deps{
		OTP: a.otp, TOTP: a.totp, Tokens: a.tokens, Keys: a.keys, Clients: a.clients, Ready: a.ready,
		Logger: a.log, Issuer: a.cfg.Issuer, MaxBody: a.cfg.MaxBody,
		TrustedProxies:        a.cfg.TrustedProxies,
		Metrics:               a.metrics.Handler(),
		VonageSignatureSecret: a.cfg.VonageSignatureSecret,
		VonageSignatureMethod: a.cfg.VonageSignatureMethod,
	})
	adm := admin.New(admin.Deps{Token: a.cfg.AdminToken, Clients: a.clients, Keys: a.keys,
		DLQ: a.dlq, Store: a.store, Branding: a.branding, Logger: a.log})
	var err error
	if a.publicLn, err = net.Listen("tcp", a.cfg.HTTPAddr); err != nil {
		return fmt.Errorf("listening on %s: %w", a.cfg.HTTPAddr, err)
	}
	if a.adminLn, err = net.Listen("tcp", a.cfg.AdminAddr); err != nil {
		return fmt.Errorf("listening on %s: %w", a.cfg.AdminAddr, err)
	}
	a.public = newHTTPServer(pub, a.log, 15*time.Second)
	a.admin = newHTTPServer(adm, a.log, 5*time.Minute) // long enough for a CPU profile

	return nil
}

func newHTTPServer(h http.Handler, log *slog.Logger, writeTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// PublicAddr is the address the public API listens on.
func (a *App) PublicAddr() string { return a.publicLn.Addr().String() }

// AdminAddr is the address the admin API listens on.
func (a *App) AdminAddr() string { return a.adminLn.Addr().String() }

// NATSURL is the URL of the NATS server in use.
func (a *App) NATSURL() string { return a.nc.ConnectedUrl() }

func (a *App) ready(ctx context.Context) error {
	if err := a.store.Ping(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if !a.nc.IsConnected() {
		return errors.New("nats: not connected")
	}
	for _, name := range []string{events.StreamDelivery, events.StreamStatus, events.StreamDLQ} {
		if _, err := a.js.Stream(ctx, name); err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
	}

	return nil
}

// Run serves until ctx is cancelled, then shuts down: listeners first,
// then background work, then NATS, then the store, under one deadline.
func (a *App) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	serve := func(srv *http.Server, ln net.Listener, name string) {
		defer wg.Done()
		a.log.Info("listening", slog.String(logging.KeyComponent, name),
			slog.String(logging.KeyAddr, ln.Addr().String()))
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("%s listener: %w", name, err)
		}
	}

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	wg.Add(4)
	go serve(a.public, a.publicLn, "public")
	go serve(a.admin, a.adminLn, "admin")
	go func() { defer wg.Done(); a.sweep(bg) }()
	go func() {
		defer wg.Done()
		if err := delivery.ConsumeStatus(bg, a.js, a.otp, a.log); err != nil {
			a.log.Error("delivery status not recorded", logging.Err(err))
		}
	}()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.log.Info("shutting down")
	deadline, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer cancel()
	runErr = errors.Join(runErr, a.public.Shutdown(deadline), a.admin.Shutdown(deadline))
	stopBG()
	wg.Wait()

	return errors.Join(runErr, a.close())
}

// close releases NATS, the embedded server and the store, in that order.
func (a *App) close() error {
	var errs []error
	if a.nc != nil && !a.nc.IsConnected() {
		a.nc.Close() // nothing can be flushed to a server that is gone
	}
	if a.nc != nil && !a.nc.IsClosed() {
		if err := a.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, fmt.Errorf("draining nats: %w", err))
		}
		waitClosed(a.nc, 5*time.Second)
	}

	if a.embedded != nil {
		a.embedded.Shutdown()
		a.embedded.WaitForShutdown()
	}

	if a.store != nil {
		if err := a.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing store: %w", err))
		}
	}

	return errors.Join(errs...)
}

func waitClosed(nc *nats.Conn, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for !nc.IsClosed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	nc.Close()
}

// sweep runs the sweepers every SweepInterval until ctx ends.
func (a *App) sweep(ctx context.Context) {
	t := time.NewTicker(a.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.sweepOnce(ctx, time.Now())
	}
}

// sweepBatch bounds how much one sweeping transaction deletes, so that
// requests never wait long behind it.
const sweepBatch = 5000

// sweepOnce deletes challenges past their lifetime and retention,
// forgotten idempotency keys, lapsed enrollments, audit entries past
// their retention, when one is set, and stale counters.
func (a *App) sweepOnce(ctx context.Context, now time.Time) {
	cutoff := now.Add(-a.cfg.MaxCodeLifetime - a.cfg.ChallengeRetention)
	a.repeat(ctx, "challenges", func() (int, error) { return a.store.SweepChallenges(cutoff, sweepBatch) })
	a.repeat(ctx, "idempotency keys", func() (int, error) {
		return a.store.SweepIdempotency(now.Add(-otp.IdempotencyWindow), sweepBatch)
	})
	a.repeat(ctx, "unconfirmed enrollments", func() (int, error) {
		return a.store.SweepPendingEnrollments(now, sweepBatch)
	})
	if a.cfg.AuditRetention > 0 {
		a.repeat(ctx, "audit entries", func() (int, error) {
			return a.store.SweepAudit(now.Add(-a.cfg.AuditRetention), sweepBatch)
		})
	}
	a.sweepCounters(ctx, now)
}

// counterSweepTime bounds how long one sweep spends on counters. The
// bucket can hold millions (two or more per recent user and address);
// reading them is cheap and only those found stale cost a write, so a
// sweep normally reaches the end of the bucket, and one that runs out of
// time goes on from where it stopped the next time.
const counterSweepTime = 5 * time.Second

// sweepCounters deletes the counters that no longer matter, a batch per
// transaction, until the end of the bucket or counterSweepTime.
func (a *App) sweepCounters(ctx context.Context, now time.Time) {
	total := 0
	deadline := time.Now().Add(counterSweepTime)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		n, resume, err := a.store.SweepCounters(a.counterCursor, sweepBatch, func(_ string, v []byte) bool {
			return counterStale(v, now)
		})
		if err != nil {
			a.log.Warn("sweep failed", slog.String("what", "counters"), logging.Err(err))
			return
		}
		total, a.counterCursor = total+n, resume
		if resume == "" {
			break // the end of the bucket: the next sweep starts over
		}
	}
	if total > 0 {
		a.log.Info("swept", slog.String("what", "counters"), slog.Int(logging.KeyCount, total))
	}
}

// repeat runs one sweeper until it deletes less than a full batch.
func (a *App) repeat(ctx context.Context, what string, step func() (int, error)) {
	total := 0
	for ctx.Err() == nil {
		n, err := step()
		if err != nil {
			a.log.Warn("sweep failed", slog.String("what", what), logging.Err(err))
			return
		}

		total += n
		if n < sweepBatch {
			break
		}
	}

	if total > 0 {
		a.log.Info("swept", slog.String("what", what), slog.Int(logging.KeyCount, total))
	}
}

// counterStale reports whether a rate-limit or budget counter no longer
// affects anything.
func counterStale(v []byte, now time.Time) bool {
	if limits.IsBudget(v) {
		b, err := limits.DecodeBudget(v)
		return err != nil || b.Stale(now, limits.LongestWindow)
	}

	tat, err := limits.DecodeTime(v)
	return err != nil || tat.Before(now)
}

// Store returns the open store, for tests and benchmarks that check what
// was (or was not) written.
func (a *App) Store() *store.Store { return a.store }
