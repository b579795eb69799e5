package app

import (
	"fmt"

	"github.com/ciam-mfa/ciam-mfa/pkg/render"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/otp"
	"github.com/ciam-mfa/ciam-mfa/templates"
)

// catalog answers which templates exist; the API parses them too, so that
// a request naming a broken or unknown template is refused before anything
// is stored.
type catalog struct {
	set *render.Set
}

var _ otp.Templates = (*catalog)(nil)

func loadTemplates(dir string) (*catalog, error) {
	set, err := render.Defaults(templates.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("MFA_TEMPLATES_DIR: %w", err)
	}
	return &catalog{set: set}, nil
}

// Version returns the version of template name.
func (c *catalog) Version(_, name string) (int, error) {
	t, err := c.set.Get(name)
	if err != nil {
		return 0, err
	}
	return t.Version(), nil
}
