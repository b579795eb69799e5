package natsembed

import (
	"testing"

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
