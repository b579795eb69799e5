package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

func init() {
	register(&cmd{name: "limits clear", run: limitsClear,
		usage: "--client CLIENT_ID [--user USER] [--email ADDR] [--phone NUMBER]"})
}

// limitsClear lifts the rate limits and failure budget, including a hard
// stop, of one user or destination.
func limitsClear(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("limits clear")
	client := fs.String("client", "", "client id")
	user := fs.String("user", "", "userName")
	email := fs.String("email", "", "email address (any variant of it)")
	phone := fs.String("phone", "", "phone number")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *client == "" ||
		*user == "" && *email == "" && *phone == "" {
		return errUsage
	}
	body := map[string]string{"clientId": *client, "userName": *user, "email": *email, "phoneNumber": *phone}
	return r.call(ctx, http.MethodPost, "/admin/v1/limits/clear", body, func(raw json.RawMessage) error {
		var v struct {
			Cleared int `json:"cleared"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		_, err := fmt.Fprintf(r.out, "cleared %d counters\n", v.Cleared)
		return err
	})
}
