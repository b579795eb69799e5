package natsembed

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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

// ConnectForTest connects to the server at url and returns the connection
// and a JetStream handle on it; the connection closes when the test ends.
func ConnectForTest(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	return nc, js
}
