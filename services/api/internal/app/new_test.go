package app_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/ciam-mfa/ciam-mfa/pkg/envconf"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/app"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/config"
)

// TestNew_FailsCleanly checks that a start-up failure is returned, with
// what was opened closed again, rather than crashing.
func TestNew_FailsCleanly(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	vars := map[string]string{"MFA_PROFILE": "dev", "MFA_DATA_DIR": t.TempDir(),
		"MFA_HTTP_ADDR": busy.Addr().String(), "MFA_ADMIN_ADDR": "127.0.0.1:0",
		"MFA_NATS_LISTEN": "127.0.0.1:0"}
	cfg, err := config.Load(envconf.New(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }))
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, logging.Discard())
	if err == nil || a != nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("New with a busy address = %v, %v; want the bind error", a, err)
	}
	// The store was closed: a second start on the same directory opens it.
	vars["MFA_HTTP_ADDR"] = "127.0.0.1:0"
	cfg, _ = config.Load(envconf.New(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }))
	a, err = app.New(context.Background(), cfg, logging.Discard())
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
}
