package render

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ciam-mfa/ciam-mfa/templates"
)

func demo(t testing.TB) *Template {
	t.Helper()
	set, err := LoadFS(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := set.Get("demotemplate")
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestTemplate_LocaleFallback(t *testing.T) {
	tpl := demo(t)
	tests := []struct {
		name, locale, subject, body string
	}{
		{"exact", "pt-BR", "Seu código de acesso Example", "Seu código de verificação"},
		{"language", "pt-PT", "Seu código de verificação Example", "Seu código de verificação"},
		{"case folded", "PT", "Seu código de verificação Example", "Seu código de verificação"},
		{"unknown", "xx", "Your Example verification code", "Your Example verification code is"},
		{"empty", "", "Your Example verification code", "Your Example verification code is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tpl.Email(tt.locale, SampleData)
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != tt.subject {
				t.Errorf("subject = %q, want %q", got.Subject, tt.subject)
			}
			if !strings.Contains(got.Text, tt.body) || !strings.Contains(got.Text, "123456") {
				t.Errorf("text body = %q, want it to hold %q and the code", got.Text, tt.body)
			}
		})
	}
}

func TestTemplate_Golden(t *testing.T) {
	tpl := demo(t)
	email, err := tpl.Email("en", SampleData)
	if err != nil {
		t.Fatal(err)
	}
	sms, err := tpl.SMS("en", SampleData)
	if err != nil {
		t.Fatal(err)
	}
	got := "Subject: " + email.Subject + "\n--- text\n" + email.Text +
		"\n--- html\n" + email.HTML + "\n--- sms\n" + sms + "\n"
	const golden = "testdata/demotemplate.golden"
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("render differs from %s (UPDATE_GOLDEN=1 rewrites it):\n%s", golden, got)
	}
}

func TestTemplate_EscapesValues(t *testing.T) {
	tpl := demo(t)
	d := SampleData
	d.UserName = `<script>alert(1)</script>`
	d.Brand.LogoURL = `javascript:alert(1)`
	got, err := tpl.Email("en", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got.HTML, "<script>") || strings.Contains(got.HTML, "javascript:") {
		t.Errorf("html body carries unescaped input:\n%s", got.HTML)
	}
}

func TestTemplate_SubjectInjection(t *testing.T) {
	tpl, err := Parse("t", 1, map[string]string{
		FileSubject: "Code for {{.UserName}}", FileHTML: "x", FileText: "x", FileSMS: "x",
	})
	if err != nil {
		t.Fatal(err)
	}
	d := SampleData
	d.UserName = "a\r\nBcc: victim@example.com"
	if _, err := tpl.Email("", d); !errors.Is(err, ErrHeaderValue) {
		t.Fatalf("Email error = %v, want ErrHeaderValue", err)
	}
}

func TestParse_Invalid(t *testing.T) {
	complete := func(extra map[string]string) map[string]string {
		m := map[string]string{FileSubject: "s", FileHTML: "h", FileText: "t", FileSMS: "m"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"missing file", map[string]string{FileSubject: "s"}, "missing body.html"},
		{"syntax", complete(map[string]string{"pt/sms.txt": "ok\n{{.Code"}), "pt/sms.txt:2"},
		{"unknown field", complete(map[string]string{FileText: "{{.Nope}}"}), "body.txt:1"},
		{"unknown file", complete(map[string]string{"notes.md": "x"}), `unknown file "notes.md"`},
		{"bad locale", complete(map[string]string{"../x/sms.txt": "x"}), "not a locale"},
		{"long range", complete(map[string]string{FileText: "{{range 100000000}}{{end}}"}),
			"ranges over 100000000"},
		{"range over a variable", complete(map[string]string{
			FileText: "{{$n := 200000000}}{{range $n}}{{end}}"}), "other than a number or a field"},
		{"range over a variable's field", complete(map[string]string{
			FileText: "{{$m := 5}}{{range $m}}{{end}}"}), "other than a number or a field"},
		{"range over a pipeline", complete(map[string]string{
			FileSMS: "{{range (200000000)}}{{end}}"}), "other than a number or a field"},
		{"range over a call", complete(map[string]string{
			FileHTML: `{{range (len "x")}}{{end}}`}), "other than a number or a field"},
		{"nested ranges", complete(map[string]string{
			FileSMS: "{{range 100}}{{range 100}}{{end}}{{end}}"}),
			"ranges over 10000"},
		{"range through a call", complete(map[string]string{FileHTML: `{{define "x"}}{{range 500}}` +
			`{{end}}{{end}}{{range 10}}{{template "x"}}{{end}}`}), "ranges over 5000"},
		{"huge literal", complete(map[string]string{
			FileText: "{{range 9223372036854775807}}{{range 9}}{{end}}{{end}}"}), "more than 1000"},
		{"long output", complete(map[string]string{
			FileText: "{{range 1000}}" + strings.Repeat("x", 300) + "{{end}}"}), "output too long"},
	}
	short := complete(map[string]string{FileText: "{{range 3}}x{{end}}"})
	if _, err := Parse("t", 1, short); err != nil {
		t.Fatalf("a short range: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t", 1, tt.files)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

func TestSegments(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		encoding Encoding
		segments int
	}{
		{"empty", "", GSM7, 0},
		{"gsm 160", strings.Repeat("a", 160), GSM7, 1},
		{"gsm 161", strings.Repeat("a", 161), GSM7, 2},
		{"gsm 306", strings.Repeat("a", 306), GSM7, 2},
		{"gsm 307", strings.Repeat("a", 307), GSM7, 3},
		{"gsm extension counts two", strings.Repeat("€", 80), GSM7, 1},
		{"gsm extension not split", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 10), GSM7, 2},
		{"ucs2 70", strings.Repeat("ç", 70), UCS2, 1},
		{"ucs2 71", strings.Repeat("ç", 71), UCS2, 2},
		{"ucs2 134", strings.Repeat("ç", 134), UCS2, 2},
		{"ucs2 135", strings.Repeat("ç", 135), UCS2, 3},
		{"emoji is two units", strings.Repeat("😀", 35), UCS2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Segments(tt.body)
			if got.Encoding != tt.encoding || got.Segments != tt.segments {
				t.Errorf("Segments = %v/%d, want %v/%d", got.Encoding, got.Segments,
					tt.encoding, tt.segments)
			}
		})
	}
}

func FuzzTemplate_Email(f *testing.F) {
	tpl := demo(f)
	f.Add("jdoe", "123456", "pt-BR")
	f.Add("<b>x</b>\r\n", "12", "")
	f.Fuzz(func(t *testing.T, user, code, locale string) {
		d := SampleData
		if strings.ContainsAny(user, "\u27e6\u27e7") {
			return
		}
		d.UserName, d.Code = "\u27e6"+user+"\u27e7", code
		got, err := tpl.Email(locale, d)
		if err != nil {
			return
		}
		if strings.ContainsAny(got.Subject, "\r\n") {
			t.Fatalf("subject %q holds a line break", got.Subject)
		}
		names := between(got.HTML, "\u27e6", "\u27e7")
		if len(names) == 0 {
			t.Fatalf("html lost the user name %q", user)
		}
		for _, s := range names {
			if strings.ContainsAny(s, "<>\"") {
				t.Fatalf("html holds user input unescaped: %q", s)
			}
		}
	})
}

// between returns each text found between open and end in s.
func between(s, open, end string) []string {
	var found []string
	for {
		_, rest, ok := strings.Cut(s, open)
		if !ok {
			return found
		}
		inner, after, ok := strings.Cut(rest, end)
		if !ok {
			return found
		}
		found = append(found, inner)
		s = after
	}
}
