package natsembed

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestStart_Token(t *testing.T) {
	srv, err := Start(Options{StoreDir: t.TempDir(), Token: "s3cret-token"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if nc, err := nats.Connect(srv.ClientURL()); err == nil {
		nc.Close()
		t.Fatal("a client without the token connected")
	}
	nc, err := nats.Connect(srv.ClientURL(), nats.Token("s3cret-token"))
	if err != nil {
		t.Fatalf("a client with the token was refused: %v", err)
	}
	nc.Close()
}

func TestStart_PortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	began := time.Now()
	srv, err := Start(Options{StoreDir: t.TempDir(), Port: port})
	if err == nil {
		srv.Shutdown()
		t.Fatal("started on a port another listener holds")
	}
	if !strings.Contains(err.Error(), l.Addr().String()) || time.Since(began) > 5*time.Second {
		t.Errorf("error %q (after %s) does not name %s at once", err, time.Since(began), l.Addr())
	}
}
