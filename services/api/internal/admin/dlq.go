package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
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
	setTarget(c, "channel="+req.Channel, "since="+req.Since, "authId="+label(req.AuthID),
		"dryRun="+strconv.FormatBool(req.DryRun))
	rep, err := s.DLQ.Replay(c.Request().Context(), f, req.DryRun)
	if err != nil {
		return &replayError{report: rep, err: err}
	}
	return c.JSON(http.StatusOK, rep)
}

// replayError is a replay that stopped part-way. Its answer, 503, also
// carries what the replay did before the failure, which stays done, so
// that the operator knows which dead letters went out.
type replayError struct {
	report dlq.Report
	err    error
}

func (e *replayError) Error() string { return "replay stopped: " + e.err.Error() }

// Unwrap lets the error classify as unavailable and keeps its cause.
func (e *replayError) Unwrap() []error { return []error{errUnavailable, e.err} }

// replayFailure is the answer to a replayError.
type replayFailure struct {
	httpio.ErrorBody
	Report dlq.Report `json:"report"`
}
