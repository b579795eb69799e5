package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// terminalSafe is s as it may be printed to a terminal: quoted, with
// escapes, when it holds a control or any character that is not
// printable, so that a stored value cannot move the cursor or forge a
// line.
func terminalSafe(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) || !utf8.ValidString(s) {
		return strconv.QuoteToASCII(s)
	}
	return s
}

func init() {
	register(&cmd{name: "template put", usage: "--client CLIENT_ID --name NAME DIR", run: templatePut})
	register(&cmd{name: "template list", usage: "--client CLIENT_ID", run: templateList})
	register(&cmd{name: "template preview", usage: "--client CLIENT_ID --name NAME [--locale pt-BR]",
		run: templatePreview})
	register(&cmd{name: "template delete", usage: "--client CLIENT_ID --name NAME", run: templateDelete})
	register(&cmd{name: "domain add", usage: "--client CLIENT_ID --domain DOMAIN [--selector mfa] [--key key.pem]",
		run: domainAdd})
	register(&cmd{name: "domain list", usage: "--client CLIENT_ID", run: domainList})
	register(&cmd{name: "user erase", usage: "--client CLIENT_ID --user USER", run: userErase})
	register(&cmd{name: "audit", usage: "[--since 24h|RFC3339] [--limit 100]", run: auditList})
}

// readTemplateDir reads a template folder: subject.txt, body.html,
// body.txt, sms.txt and locale folders.
func readTemplateDir(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})

	return files, err
}

func templatePut(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("template put")
	client, name := fs.String("client", "", "client id"), fs.String("name", "", "template name")
	if err := fs.Parse(args); err != nil || *client == "" || *name == "" || fs.NArg() != 1 {
		return errUsage
	}
	files, err := readTemplateDir(fs.Arg(0))
	if err != nil {
		return err
	}
	path := "/admin/v1/clients/" + url.PathEscape(*client) + "/templates/" + url.PathEscape(*name)
	return r.call(ctx, http.MethodPut, path, map[string]any{"files": files}, func(raw json.RawMessage) error {
		var v struct {
			Revision int      `json:"revision"`
			Locales  []string `json:"locales"`
			SMS      struct {
				Encoding string `json:"encoding"`
				Segments int    `json:"segments"`
			} `json:"sms"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		_, err := fmt.Fprintf(r.out, "template %s stored as revision %d (locales: %s; SMS: %d %s segment(s))\n",
			*name, v.Revision, strings.Join(v.Locales, ", "), v.SMS.Segments, v.SMS.Encoding)
		return err
	})
}

func templateList(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("template list")
	client := fs.String("client", "", "client id")
	if err := fs.Parse(args); err != nil || *client == "" {
		return errUsage
	}
	return r.call(ctx, http.MethodGet, "/admin/v1/clients/"+url.PathEscape(*client)+"/templates", nil, indent(r))
}

func templatePreview(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("template preview")
	client, name := fs.String("client", "", "client id"), fs.String("name", "", "template name")
	locale := fs.String("locale", "", "locale to render")
	if err := fs.Parse(args); err != nil || *client == "" || *name == "" {
		return errUsage
	}
	path := "/admin/v1/clients/" + url.PathEscape(*client) + "/templates/" + url.PathEscape(*name) + "/preview"
	return r.call(ctx, http.MethodPost, path, map[string]string{"locale": *locale}, func(raw json.RawMessage) error {
		var v struct {
			Subject, Text, HTML, SMS string
			SMSInfo                  struct {
				Encoding string `json:"encoding"`
				Segments int    `json:"segments"`
			} `json:"smsInfo"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		_, err := fmt.Fprintf(r.out, "Subject: %s\n\n%s\n--- html\n%s\n--- sms (%d %s segment(s))\n%s\n",
			v.Subject, v.Text, v.HTML, v.SMSInfo.Segments, v.SMSInfo.Encoding, v.SMS)
		return err
	})
}

func templateDelete(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("template delete")
	client, name := fs.String("client", "", "client id"), fs.String("name", "", "template name")
	if err := fs.Parse(args); err != nil || *client == "" || *name == "" {
		return errUsage
	}
	path := "/admin/v1/clients/" + url.PathEscape(*client) + "/templates/" + url.PathEscape(*name)
	return r.call(ctx, http.MethodDelete, path, nil, func(json.RawMessage) error {
		_, err := fmt.Fprintf(r.out, "template %s deleted\n", *name)
		return err
	})
}

func domainAdd(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("domain add")
	client, domain := fs.String("client", "", "client id"), fs.String("domain", "", "sender domain")
	selector := fs.String("selector", "mfa", "DKIM selector")
	keyFile := fs.String("key", "", "PEM private key (RSA-2048+ or Ed25519); omitted: a new RSA-2048 key")
	if err := fs.Parse(args); err != nil || *client == "" || *domain == "" {
		return errUsage
	}
	body := map[string]string{"domain": *domain, "selector": *selector}
	if *keyFile != "" {
		pem, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		body["privateKeyPem"] = string(pem)
	}

	path := "/admin/v1/clients/" + url.PathEscape(*client) + "/domains"
	return r.call(ctx, http.MethodPost, path, body, func(raw json.RawMessage) error {
		var v struct {
			Domain     string `json:"domain"`
			DKIMName   string `json:"dkimName"`
			DKIMRecord string `json:"dkimRecord"`
			SPF        string `json:"spf"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		_, err := fmt.Fprintf(r.out, "domain %s registered. Publish this DNS record for DKIM:\n\n"+
			"  %s. IN TXT \"%s\"\n\nSPF: %s\n", v.Domain, v.DKIMName, v.DKIMRecord, v.SPF)
		return err
	})
}

func domainList(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("domain list")
	client := fs.String("client", "", "client id")
	if err := fs.Parse(args); err != nil || *client == "" {
		return errUsage
	}
	return r.call(ctx, http.MethodGet, "/admin/v1/clients/"+url.PathEscape(*client)+"/domains", nil, indent(r))
}

func userErase(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("user erase")
	client, user := fs.String("client", "", "client id"), fs.String("user", "", "userName")
	if err := fs.Parse(args); err != nil || *client == "" || *user == "" {
		return errUsage
	}
	body := map[string]string{"clientId": *client, "userName": *user}
	return r.call(ctx, http.MethodPost, "/admin/v1/users/erase", body, func(raw json.RawMessage) error {
		var v struct{ Challenges, Enrollments, Counters int }
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		_, err := fmt.Fprintf(r.out, "erased %d challenges, %d enrollments, %d counters of %s\n",
			v.Challenges, v.Enrollments, v.Counters, *user)
		return err
	})
}

func auditList(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("audit")
	since := fs.String("since", "", "only entries since this time or duration ago")
	limit := fs.Int("limit", 100, "most entries to show")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	q := url.Values{"limit": {fmt.Sprint(*limit)}}
	if *since != "" {
		q.Set("since", *since)
	}
	return r.call(ctx, http.MethodGet, "/admin/v1/audit?"+q.Encode(), nil, func(raw json.RawMessage) error {
		var v struct {
			Entries []struct {
				At     string `json:"at"`
				Actor  string `json:"actor"`
				Action string `json:"action"`
				Target string `json:"target"`
				Status int    `json:"status"`
			} `json:"entries"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		for _, e := range v.Entries {
			fmt.Fprintf(r.out, "%s  %-40s %d  %s  by %s\n", e.At, terminalSafe(e.Action), e.Status,
				terminalSafe(e.Target), terminalSafe(e.Actor))
		}
		return nil
	})
}
