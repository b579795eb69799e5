package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
)

func init() {
	register(&cmd{name: "client create", run: clientCreate,
		usage: "--name NAME [--scopes s,..] [--device-types EMAIL,SMS,TOTP] [--templates t,..] [--default-template t]"})
	register(&cmd{name: "client list", usage: "", run: clientList})
	register(&cmd{name: "client show", usage: "CLIENT_ID", run: clientShow})
	register(&cmd{name: "client update", run: clientUpdate,
		usage: "CLIENT_ID [--name N] [--scopes ..] [--device-types ..] [--templates ..] [--default-template t]\n" +
			"                         [--from ADDR] [--from-name N] [--reply-to ADDR] [--sms-sender ID]\n" +
			"                         [--logo-url URL] [--primary-color #rrggbb] [--support-email ADDR]\n" +
			"                         [--sms-max-segments N]"})
	register(&cmd{name: "client disable", usage: "CLIENT_ID", run: clientSetDisabled(true)})
	register(&cmd{name: "client enable", usage: "CLIENT_ID", run: clientSetDisabled(false)})
	register(&cmd{name: "client rotate-secret", usage: "CLIENT_ID [--grace 24h]", run: clientRotate})
}

type clientFlags struct {
	name, scopes, deviceTypes, templates, defaultTemplate string
	from, fromName, replyTo, smsSender                    string
	logoURL, primaryColor, supportEmail                   string
	smsMaxSegments                                        int
}

func (f *clientFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "name", "", "client name")
	fs.StringVar(&f.scopes, "scopes", "", "comma-separated scopes (default all)")
	fs.StringVar(&f.deviceTypes, "device-types", "", "comma-separated EMAIL, SMS, TOTP")
	fs.StringVar(&f.templates, "templates", "", "comma-separated allowed templates")
	fs.StringVar(&f.defaultTemplate, "default-template", "", "template used when a request names none")
	fs.StringVar(&f.from, "from", "", "email From address, on a registered domain")
	fs.StringVar(&f.fromName, "from-name", "", "email From display name")
	fs.StringVar(&f.replyTo, "reply-to", "", "email Reply-To, on a registered domain")
	fs.StringVar(&f.smsSender, "sms-sender", "", "SMS sender id (3-11 letters and digits) or E.164 number")
	fs.StringVar(&f.logoURL, "logo-url", "", "brand logo (https URL)")
	fs.StringVar(&f.primaryColor, "primary-color", "", "brand colour, #rrggbb")
	fs.StringVar(&f.supportEmail, "support-email", "", "brand support address")
	fs.IntVar(&f.smsMaxSegments, "sms-max-segments", 0, "most segments an SMS may take (0: no cap)")
}

// body returns the request fields the user set.
func (f *clientFlags) body(fs *flag.FlagSet) map[string]any {
	b := map[string]any{}
	sender, brand := map[string]string{}, map[string]string{}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "name":
			b["name"] = f.name
		case "scopes":
			b["scopes"] = splitList(f.scopes)
		case "device-types":
			b["deviceTypes"] = splitList(strings.ToUpper(f.deviceTypes))
		case "templates":
			b["templates"] = splitList(f.templates)
		case "default-template":
			b["defaultTemplate"] = f.defaultTemplate
		case "from", "from-name", "reply-to":
			sender[map[string]string{"from": "fromAddress", "from-name": "fromName",
				"reply-to": "replyTo"}[fl.Name]] = fl.Value.String()
		case "sms-sender":
			b["smsSender"] = f.smsSender
		case "logo-url", "primary-color", "support-email":
			brand[map[string]string{"logo-url": "logoUrl", "primary-color": "primaryColor",
				"support-email": "supportEmail"}[fl.Name]] = fl.Value.String()
		case "sms-max-segments":
			b["smsMaxSegments"] = f.smsMaxSegments
		}
	})
	if len(sender) > 0 {
		b["emailSender"] = sender
	}
	if len(brand) > 0 {
		b["brand"] = brand
	}
	return b
}

func clientCreate(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("client create")
	var f clientFlags
	f.bind(fs)
	if err := fs.Parse(args); err != nil || f.name == "" || fs.NArg() > 0 {
		return errUsage
	}
	body := f.body(fs)
	if _, ok := body["deviceTypes"]; !ok {
		body["deviceTypes"] = []string{"EMAIL", "SMS", "TOTP"}
	}
	return r.call(ctx, http.MethodPost, "/admin/v1/clients", body, func(raw json.RawMessage) error {
		return printCredentials(r, raw, "client created")
	})
}

// printCredentials shows a new secret once, with a warning to keep it.
func printCredentials(r *runner, raw json.RawMessage, what string) error {
	var v struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	fmt.Fprintf(r.out, "%s\n\nMFA_CLIENT_ID=%s\nMFA_CLIENT_SECRET=%s\n\n", what, v.ClientID, v.ClientSecret)
	fmt.Fprintln(r.out, "The secret is shown only this once; store it now.")

	return nil
}

type clientSummary struct {
	ClientID    string   `json:"clientId"`
	Name        string   `json:"name"`
	Scopes      []string `json:"scopes"`
	DeviceTypes []string `json:"deviceTypes"`
	Templates   []string `json:"templates"`
	Disabled    bool     `json:"disabled"`
}

func clientList(ctx context.Context, r *runner, args []string) error {
	if len(args) > 0 {
		return errUsage
	}
	return r.call(ctx, http.MethodGet, "/admin/v1/clients", nil, func(raw json.RawMessage) error {
		var v struct {
			Clients []clientSummary `json:"clients"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(r.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT ID\tNAME\tSTATE\tDEVICE TYPES\tSCOPES")
		for _, c := range v.Clients {
			state := "enabled"
			if c.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ClientID, c.Name, state,
				strings.Join(c.DeviceTypes, ","), strings.Join(c.Scopes, " "))
		}

		return tw.Flush()
	})
}

func indent(r *runner) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(r.out, string(b))
		return err
	}
}

func oneID(args []string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, errUsage
	}
	return url.PathEscape(args[0]), args[1:], nil
}

func clientShow(ctx context.Context, r *runner, args []string) error {
	id, rest, err := oneID(args)
	if err != nil || len(rest) > 0 {
		return errUsage
	}
	return r.call(ctx, http.MethodGet, "/admin/v1/clients/"+id, nil, indent(r))
}

func clientUpdate(ctx context.Context, r *runner, args []string) error {
	id, rest, err := oneID(args)
	if err != nil {
		return err
	}
	fs := r.flags("client update")
	var f clientFlags
	f.bind(fs)
	if err := fs.Parse(rest); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	return r.call(ctx, http.MethodPatch, "/admin/v1/clients/"+id, f.body(fs), indent(r))
}

func clientSetDisabled(disabled bool) func(context.Context, *runner, []string) error {
	return func(ctx context.Context, r *runner, args []string) error {
		id, rest, err := oneID(args)
		if err != nil || len(rest) > 0 {
			return errUsage
		}
		action := "enable"
		if disabled {
			action = "disable"
		}
		return r.call(ctx, http.MethodPost, "/admin/v1/clients/"+id+"/"+action, nil,
			func(json.RawMessage) error {
				_, err := fmt.Fprintf(r.out, "client %sd; its tokens %s at once\n", action,
					map[bool]string{true: "stop working", false: "work again"}[disabled])
				return err
			})
	}
}

func clientRotate(ctx context.Context, r *runner, args []string) error {
	id, rest, err := oneID(args)
	if err != nil {
		return err
	}
	fs := r.flags("client rotate-secret")
	grace := fs.Duration("grace", 0, "how long the old secret keeps working (default 24h)")
	if err := fs.Parse(rest); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	body := map[string]any{}
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "grace" {
			body["graceSeconds"] = int(grace.Seconds())
		}
	})
	return r.call(ctx, http.MethodPost, "/admin/v1/clients/"+id+"/rotate-secret", body,
		func(raw json.RawMessage) error { return printCredentials(r, raw, "secret rotated") })
}
