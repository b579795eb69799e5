// Package natsembed runs a NATS server with JetStream inside the process:
// mfa-api's default when no MFA_NATS_URL is given, and every test's broker.
package natsembed

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrNotReady is returned when the server does not accept connections in
// time.
var ErrNotReady = errors.New("natsembed: server not ready")

// Options configures an embedded server.
type Options struct {
	// Host is the listen address; default 127.0.0.1.
	Host string
	// Port is the client port; 0 picks a free one (-1 in nats-server
	// terms), default 4222 only when set explicitly.
	Port int
	// StoreDir is where JetStream keeps its files; required.
	StoreDir string
	// SyncInterval is how often JetStream fsyncs; zero keeps the server
	// default (2 minutes). A negative value syncs every write.
	SyncInterval time.Duration
	// Name names the server in logs and cluster views.
	Name string
	// Token, when set, is required of every client.
	Token string
}

// Start starts a server and waits until it accepts connections. It fails
// when the port is taken, with ErrNotReady, or with an error from the
// server's option checks.
func Start(o Options) (*server.Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("natsembed: StoreDir is required")
	}
	opts := &server.Options{
		ServerName: o.Name,
		Host:       o.Host,
		Port:       o.Port,
		JetStream:  true,
		StoreDir:   o.StoreDir,
		NoSigs:     true,
		NoLog:      true,
		MaxPayload: 1 << 20,
	}
	if o.Token != "" {
		opts.Authorization = o.Token
	}

	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	if o.SyncInterval < 0 {
		opts.SyncAlways = true
	} else if o.SyncInterval > 0 {
		opts.SyncInterval = o.SyncInterval
	}
	if err := probe(opts.Host, opts.Port); err != nil {
		return nil, err
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsembed: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, ErrNotReady
	}

	return srv, nil
}

// probe fails when the client port cannot be listened on, which the server
// itself would only report as never becoming ready.
func probe(host string, port int) error {
	if port == server.RANDOM_PORT {
		return nil
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("natsembed: cannot listen on %s (is another NATS server or mfa-api running?): %w",
			addr, err)
	}
	return l.Close()
}
