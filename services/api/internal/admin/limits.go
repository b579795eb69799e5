package admin

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/clients"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/destination"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/httpio"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/limits"
)

type clearRequest struct {
	ClientID    string `json:"clientId"`
	UserName    string `json:"userName"`
	Email       string `json:"email"`
	PhoneNumber string `json:"phoneNumber"`
}

// clearLimits deletes the rate limits and failure budget of one user or
// destination of a client, lifting a hard stop.
func (s *server) clearLimits(c echo.Context) error {
	var req clearRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.ClientID == "" {
		return httpio.BadRequest("clientId is required")
	}
	cl, ok := s.Clients.Get(req.ClientID)
	if !ok {
		return clients.ErrNotFound
	}
	var dests []string
	if req.Email != "" {
		e, err := destination.ParseEmail(req.Email, destination.EmailOptions{AllowUnicodeLocal: true})
		if err != nil {
			return httpio.BadRequest("email: " + err.Error())
		}
		dests = append(dests, "email:"+e.Key)
	}

	if req.PhoneNumber != "" {
		p, err := destination.ParsePhone(req.PhoneNumber, destination.PhoneOptions{
			DefaultRegion: cl.Destinations.DefaultRegion})
		if err != nil {
			return httpio.BadRequest("phoneNumber: " + err.Error())
		}
		dests = append(dests, "phone:"+p.E164)
	}

	if req.UserName == "" && len(dests) == 0 {
		return httpio.BadRequest("give userName, email or phoneNumber")
	}
	// The log names the client and what was cleared, not whose.
	setTarget(c, "clientId="+cl.ID, "user="+strconv.FormatBool(req.UserName != ""),
		"destinations="+strconv.Itoa(len(dests)))
	cleared, err := s.Store.DeleteCounters(limits.KeysOf(cl.ID, req.UserName, dests))
	if err != nil {
		return fmt.Errorf("%w: clearing counters: %w", errUnavailable, err)
	}
	return c.JSON(http.StatusOK, map[string]int{"cleared": cleared})
}
