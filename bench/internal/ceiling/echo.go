package ceiling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// PingPath is the trivial handler's route.
const PingPath = "/ping"

// EchoServer is a trivial Echo JSON handler on a loopback port.
type EchoServer struct {
	srv *http.Server
	ln  net.Listener
}

// StartEcho serves POST PingPath, which reads the request body and answers
// 200 with a small JSON object, with the HTTP server timeouts mfa-api
// uses. It fails when it cannot listen.
func StartEcho(log *slog.Logger) (*EchoServer, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST(PingPath, func(c echo.Context) error {
		if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
			return fmt.Errorf("reading body: %w", err)
		}

		return c.JSON(http.StatusOK, map[string]string{"status": "SUCCESS"})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("ceiling: listening: %w", err)
	}

	s := &EchoServer{ln: ln, srv: &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the trivial handler's address.
func (s *EchoServer) URL() string { return "http://" + s.ln.Addr().String() + PingPath }

// Close stops the server, waiting for open requests until ctx ends.
func (s *EchoServer) Close(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("ceiling: stopping echo: %w", err)
	}

	return nil
}
