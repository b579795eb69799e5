package admin

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/ciam-mfa/ciam-mfa/pkg/render"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/clients"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

func (s *server) client(c echo.Context) (*store.Client, error) {
	cl, ok := s.Clients.Get(c.Param("id"))
	if !ok {
		return nil, clients.ErrNotFound
	}
	return cl, nil
}

type templateRequest struct {
	// Files maps paths inside the template folder ("subject.txt",
	// "pt-BR/sms.txt") to their contents.
	Files map[string]string `json:"files"`
}

func (s *server) putTemplate(c echo.Context) error {
	cl, err := s.client(c)
	if err != nil {
		return err
	}
	var req templateRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	name := c.Param("name")
	info, err := s.Branding.Put(c.Request().Context(), cl, name, req.Files)
	if err != nil {
		return err
	}
	if !slices.Contains(cl.Templates, name) {
		if _, err := s.Clients.Update(cl.ID, func(u *store.Client) error {
			u.Templates = append(u.Templates, name)
			return nil
		}); err != nil {
			return err
		}
	}

	return c.JSON(http.StatusOK, info)
}

func (s *server) listTemplates(c echo.Context) error {
	cl, err := s.client(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"templates": listOf(s.Branding.List(cl))})
}

func (s *server) deleteTemplate(c echo.Context) error {
	cl, err := s.client(c)
	if err != nil {
		return err
	}
	if err := s.Branding.Delete(c.Request().Context(), cl.ID, c.Param("name")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type previewRequest struct {
	Locale   string `json:"locale"`
	UserName string `json:"userName"`
}

type previewBody struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	SMS     string `json:"sms"`
	SMSInfo any    `json:"smsInfo"`
}

// previewTemplate renders a template with sample data and the client's
// name and brand.
func (s *server) previewTemplate(c echo.Context) error {
	cl, err := s.client(c)
	if err != nil {
		return err
	}
	var req previewRequest
	if c.Request().ContentLength != 0 {
		if err := decode(c, &req); err != nil {
			return err
		}
	}

	data := render.SampleData
	data.AppName, data.Brand, data.Locale = cl.Name, cl.Brand, req.Locale
	if req.UserName != "" {
		data.UserName = req.UserName
	}
	email, sms, info, err := s.Branding.Preview(cl, c.Param("name"), req.Locale, data)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, previewBody{Subject: email.Subject, Text: email.Text, HTML: email.HTML,
		SMS: sms, SMSInfo: info})
}

type domainRequest struct {
	Domain        string `json:"domain"`
	Selector      string `json:"selector"`
	PrivateKeyPEM string `json:"privateKeyPem"`
}

func (s *server) addDomain(c echo.Context) error {
	cl, err := s.client(c)
	if err != nil {
		return err
	}
	var req domainRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	info, err := s.Branding.AddDomain(c.Request().Context(), cl, req.Domain, req.Selector, []byte(req.PrivateKeyPEM))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, info)
}

func (s *server) listDomains(c echo.Context) error {
	cl, err := s.client(c)
	if err != nil {
		return err
	}
	list, err := s.Branding.Domains(cl.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"domains": list})
}

func (s *server) deleteDomain(c echo.Context) error {
	id := c.Param("id")
	hold := func(fn func(*store.Client) error) error { return s.Clients.Hold(id, fn) }
	if err := s.Branding.DeleteDomain(c.Request().Context(), hold, id, c.Param("domain")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
