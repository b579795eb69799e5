package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/httpio"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/vonagesig"
)

// errBadSignature is a receipt that is not signed by Vonage.
var errBadSignature = errors.New("webhook signature missing or invalid")

// receiptStates maps Vonage delivery receipt statuses to delivery states;
// statuses not listed (accepted, buffered, unknown) are interim and
// ignored.
var receiptStates = map[string]events.State{
	"delivered": events.StateDelivered,
	"failed":    events.StateUndeliverable,
	"rejected":  events.StateUndeliverable,
	"expired":   events.StateUndeliverable,
}

// vonageReceipt takes a signed Vonage delivery receipt and records it in
// the challenge's delivery history.
func (s *server) vonageReceipt(c echo.Context) error {
	params, err := receiptParams(c, s.MaxBody)
	if err != nil {
		return err
	}
	if s.VonageSignatureSecret == "" {
		return errBadSignature
	}
	if err := vonagesig.Verify(params, s.VonageSignatureSecret, s.VonageSignatureMethod, time.Now()); err != nil {
		return fmt.Errorf("%w: %w", errBadSignature, err)
	}
	state, ok := receiptStates[strings.ToLower(params["status"])]
	st, refOK := parseClientRef(params["client-ref"])
	if !ok || !refOK {
		return c.NoContent(http.StatusNoContent)
	}
	st.State, st.ProviderID, st.At = state, params["messageId"], time.Now().UTC()
	if state == events.StateUndeliverable {
		st.Reason = strings.ToLower(params["status"])
		st.Error = "vonage err-code " + params["err-code"]
	}

	if err := s.OTP.ApplyStatus(st); err != nil {
		return err
	}
	s.Logger.Debug("delivery receipt recorded", slog.String(logging.KeyAuthID, st.AuthID),
		slog.String(logging.KeyStatus, state.String()))
	return c.NoContent(http.StatusNoContent)
}

// receiptParams reads a receipt's fields from the query and a form or JSON
// body.
func receiptParams(c echo.Context, limit int64) (map[string]string, error) {
	params := map[string]string{}
	for k, v := range c.QueryParams() {
		params[k] = v[0]
	}
	r := c.Request()
	if r.ContentLength == 0 {
		return params, nil
	}
	body, err := readLimited(r, limit)
	if err != nil {
		return nil, httpio.ErrTooLarge
	}
	if strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, httpio.BadRequest("receipt is not valid JSON")
		}
		for k, v := range m {
			params[k] = fmt.Sprint(v)
		}
		return params, nil
	}

	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, httpio.BadRequest("receipt is not a valid form")
	}
	for k, v := range form {
		params[k] = v[0]
	}
	return params, nil
}

// parseClientRef reads the "<authId>.<generation>.<replay>" reference the
// SMS worker sends with each message.
func parseClientRef(ref string) (events.Status, bool) {
	parts := strings.Split(ref, ".")
	if len(parts) != 3 {
		return events.Status{}, false
	}
	gen, err1 := strconv.Atoi(parts[1])
	replay, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil {
		return events.Status{}, false
	}
	return events.Status{AuthID: parts[0], Channel: events.ChannelSMS, Generation: gen, Replay: replay}, true
}
