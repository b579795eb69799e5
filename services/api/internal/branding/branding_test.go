package branding

import (
	"context"
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
	"github.com/ciam-mfa/ciam-mfa/pkg/keyring"
	"github.com/ciam-mfa/ciam-mfa/pkg/natsembed"
	"github.com/ciam-mfa/ciam-mfa/pkg/render"
	"github.com/ciam-mfa/ciam-mfa/services/api/internal/store"
)

// TestNew_SkipsStoredTemplatesThatNoLongerLoad stores a template that a
// later rule refuses (a range over a variable) beside a good one: the
// service still starts, serves the good one, and says which it left out.
func TestNew_SkipsStoredTemplatesThatNoLongerLoad(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "mfa.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	files := func(text string) map[string]string {
		return map[string]string{render.FileSubject: "Code", render.FileHTML: "<p>{{.Code}}</p>",
			render.FileText: text, render.FileSMS: "{{.Code}}"}
	}
	for _, ct := range []*store.ClientTemplate{
		{ClientID: "mfa_a", Name: "older", Files: files("{{$n := 5}}{{range $n}}{{.Code}}{{end}}")},
		{ClientID: "mfa_a", Name: "fine", Files: files("{{range $.ExpiresInMinutes}}.{{end}} {{.Code}}")},
	} {
		if _, err := st.PutTemplate(ct); err != nil {
			t.Fatal(err)
		}
	}

	ns := natsembed.StartForTest(t)
	_, js := natsembed.ConnectForTest(t, ns.ClientURL())
	ctx := context.Background()
	if err := events.EnsureBuckets(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.NewAEAD("k1:" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32))))
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	s, err := New(ctx, st, js, keys, keys, render.NewSet(), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("New = %v, want the service without the template that no longer loads", err)
	}

	if _, err := s.Version("mfa_a", "fine"); err != nil {
		t.Errorf("the template that loads: %v", err)
	}
	if _, err := s.Version("mfa_a", "older"); err == nil {
		t.Error("the template that no longer loads is served")
	}
	if !strings.Contains(logs.String(), `"template":"older"`) {
		t.Errorf("the log does not name the template left out:\n%s", logs.String())
	}
}
