package admin

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/dlq"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/httpio"
)

// filterOf reads channel, since (RFC 3339 or a duration back from now) and
// authId.
func filterOf(channel, since, authID string) (dlq.Filter, error) {
	var f dlq.Filter
	if channel != "" {
		ch, err := events.ParseChannel(channel)
		if err != nil {
			return f, httpio.BadRequest("channel must be email or sms")
		}
		f.Channel = ch
	}

	if since != "" {
		if t, err := time.Parse(time.RFC3339, since); err == nil {
			f.Since = t
		} else if d, err := time.ParseDuration(since); err == nil && d > 0 {
			f.Since = time.Now().Add(-d)
		} else {
			return f, httpio.BadRequest("since must be an RFC 3339 time or a duration such as 2h")
		}
	}

	f.AuthID = authID

	return f, nil
}

func (s *server) listDLQ(c echo.Context) error {
	f, err := filterOf(c.QueryParam("channel"), c.QueryParam("since"), c.QueryParam("authId"))
	if err != nil {
		return err
	}
	entries, err := s.DLQ.List(c.Request().Context(), f)
	if err != nil {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	if entries == nil {
		entries = []dlq.Entry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"deadLetters": entries})
}

type replayRequest struct {
	Channel string `json:"channel"`
	Since   string `json:"since"`
	AuthID  string `json:"authId"`
	DryRun  bool   `json:"dryRun"`
}

func (s *server) replayDLQ(c echo.Context) error {
	var req replayRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	f, err := filterOf(req.Channel, req.Since, req.AuthID)
	if err != nil {
		return err
	}
	rep, err := s.DLQ.Replay(c.Request().Context(), f, req.DryRun)
	if err != nil {
		return s.replayStopped(c, rep, err)
	}
	return c.JSON(http.StatusOK, rep)
}

// replayFailure is the answer to a replay that stopped part-way: the
// error, and what had been done before it, which stays done.
type replayFailure struct {
	httpio.ErrorBody
	Report dlq.Report `json:"report"`
}

// replayStopped answers 503 with what the replay did before err, so that
// the operator knows which dead letters went out and were deleted; a
// replay run again goes on with the rest.
func (s *server) replayStopped(c echo.Context, rep dlq.Report, err error) error {
	s.Logger.Error("dead-letter replay stopped", slog.String(logging.KeyRequestID, httpio.RequestID(c)),
		slog.Int("replayed", len(rep.Replayed)), slog.Int("skipped", len(rep.Skipped)), logging.Err(err))
	return c.JSON(http.StatusServiceUnavailable, replayFailure{
		ErrorBody: httpio.ErrorBody{Status: "FAILED", Code: "UNAVAILABLE",
			Message: "replay stopped: " + msgUnavailable + "; what the report lists was done"},
		Report: rep})
}
