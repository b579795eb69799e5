package natsembed

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// StartForTest starts a server on a random loopback port with its store in
// a temporary directory, and shuts it down when the test ends.
func StartForTest(t testing.TB) *server.Server {
	t.Helper()
	srv, err := Start(Options{StoreDir: t.TempDir(), Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})

	return srv
}
