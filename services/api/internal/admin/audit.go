package admin

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/ciam-mfa/ciam-mfa/pkg/logging"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/clients"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/httpio"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/limits"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

// HeaderActor names who is acting, for the audit log; mfactl sends the
// operator's user and host.
const HeaderActor = "X-Mfa-Actor"

// recordAudit appends every changing admin request, refused or not, to
// the audit log.
func (s *server) recordAudit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if c.Request().Method == http.MethodGet || c.Request().Method == http.MethodHead {
			return err
		}
		status := c.Response().Status
		if err != nil {
			status, _, _ = classify(err)
		}
		entry := &store.AuditEntry{
			At: time.Now().UTC(), Actor: actor(c), Action: c.Request().Method + " " + c.Path(),
			Target: target(c), Status: status, RequestID: httpio.RequestID(c), Remote: c.RealIP(),
		}

		if aerr := s.Store.AppendAudit(entry); aerr != nil {
			s.Logger.Error("audit entry not written", logging.Err(aerr), slog.String("action", entry.Action))
		}
		return err
	}
}

func actor(c echo.Context) string {
	a := c.Request().Header.Get(HeaderActor)
	if a == "" || label(a) == "?" {
		return "admin-token"
	}
	return a
}

// label is s for the audit log when it is printable and at most 64
// characters, or "?" when it is not.
func label(s string) string {
	if utf8.RuneCountInString(s) > 64 || !clients.Printable(s) {
		return "?"
	}
	return s
}

// printed is s as the audit log keeps a caller's value: as it is when
// label allows it and it holds no space, '=' or '"', else quoted in ASCII
// with escapes and cut to 64 characters, so that no entry can carry a
// line break or a terminal control sequence, or pass one value off as
// another key=value part.
func printed(s string) string {
	if label(s) == s && !strings.ContainsAny(s, ` ="`) {
		return s
	}
	return fmt.Sprintf("%+.64q", s)
}

// auditTarget is the context key under which a handler names what a
// request addressed in its body acted on.
const auditTarget = "admin.auditTarget"

// setTarget names what the request acted on beyond its path parameters,
// as key=value parts.
func setTarget(c echo.Context, parts ...string) {
	for i, p := range parts {
		k, v, _ := strings.Cut(p, "=")
		parts[i] = k + "=" + printed(v)
	}
	c.Set(auditTarget, strings.Join(parts, " "))
}

// target names what the request acted on: its path parameters, then what
// its handler set, each as printed shows it.
func target(c echo.Context) string {
	var parts []string
	for _, name := range c.ParamNames() {
		parts = append(parts, name+"="+printed(c.Param(name)))
	}
	if extra, _ := c.Get(auditTarget).(string); extra != "" {
		parts = append(parts, extra)
	}
	return strings.Join(parts, " ")
}

func (s *server) listAudit(c echo.Context) error {
	limit := 100
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return httpio.BadRequest("limit must be 1 to 10000")
		}
		limit = n
	}

	var since time.Time
	if v := c.QueryParam("since"); v != "" {
		f, err := filterOf("", v, "")
		if err != nil {
			return err
		}
		since = f.Since
	}

	entries, err := s.Store.ListAudit(since, limit)
	if err != nil {
		return fmt.Errorf("%w: reading the audit log: %w", errUnavailable, err)
	}
	if entries == nil {
		entries = []store.AuditEntry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": entries})
}

type eraseRequest struct {
	ClientID string `json:"clientId"`
	UserName string `json:"userName"`
}

// eraseUser removes a user's challenges, enrollments and counters, for an
// erasure request.
func (s *server) eraseUser(c echo.Context) error {
	var req eraseRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.ClientID == "" || req.UserName == "" {
		return httpio.BadRequest("clientId and userName are required")
	}
	if _, ok := s.Clients.Get(req.ClientID); !ok {
		return clients.ErrNotFound
	}
	// Not the user name: the log must not keep what the erasure removes.
	setTarget(c, "clientId="+req.ClientID)
	erased, err := s.Store.EraseUser(req.ClientID, req.UserName, func(dests []string) []string {
		return limits.KeysOf(req.ClientID, req.UserName, dests)
	})
	if err != nil {
		return fmt.Errorf("%w: erasing user: %w", errUnavailable, err)
	}
	return c.JSON(http.StatusOK, erased)
}
