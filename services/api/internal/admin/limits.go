package admin

import (
	"net/http"
	"strings"

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
	cl, ok := s.Clients.Get(req.ClientID)
	if !ok {
		return clients.ErrNotFound
	}
	var subjects [][2]string // kind, value
	if req.UserName != "" {
		subjects = append(subjects, [2]string{"user", req.UserName})
	}
	if req.Email != "" {
		e, err := destination.ParseEmail(req.Email, destination.EmailOptions{AllowUnicodeLocal: true})
		if err != nil {
			return httpio.BadRequest("email: " + err.Error())
		}
		subjects = append(subjects, [2]string{"dest", "email:" + e.Key})
	}
	if req.PhoneNumber != "" {
		p, err := destination.ParsePhone(req.PhoneNumber, destination.PhoneOptions{
			DefaultRegion: cl.Destinations.DefaultRegion})
		if err != nil {
			return httpio.BadRequest("phoneNumber: " + err.Error())
		}
		subjects = append(subjects, [2]string{"dest", "phone:" + p.E164})
	}
	if len(subjects) == 0 {
		return httpio.BadRequest("give userName, email or phoneNumber")
	}
	cleared := 0
	for _, sub := range subjects {
		for _, family := range []string{"fb", "rl"} {
			n, err := s.Store.ClearCounters(limits.Key(family, sub[0], cl.ID, sub[1]))
			if err != nil {
				return err
			}
			cleared += n
		}
	}
	s.audit(c, "limits.clear", cl.ID+" "+strings.Join(kinds(subjects), ","))
	return c.JSON(http.StatusOK, map[string]int{"cleared": cleared})
}

func kinds(subjects [][2]string) []string {
	out := make([]string, len(subjects))
	for i, s := range subjects {
		out[i] = s[0]
	}
	return out
}
