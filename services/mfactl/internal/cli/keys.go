package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

func init() {
	register(&cmd{name: "keys rotate", usage: "", run: keysRotate})
	register(&cmd{name: "keys list", usage: "", run: keysList})
}

func keysRotate(ctx context.Context, r *runner, args []string) error {
	if len(args) > 0 {
		return errUsage
	}
	return r.call(ctx, http.MethodPost, "/admin/v1/keys/rotate", nil, func(raw json.RawMessage) error {
		var v struct {
			ActiveKid string `json:"activeKid"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		_, err := fmt.Fprintf(r.out, "new signing key %s; the old one stays in JWKS until its tokens expire\n",
			v.ActiveKid)
		return err
	})
}

func keysList(ctx context.Context, r *runner, args []string) error {
	if len(args) > 0 {
		return errUsage
	}
	return r.call(ctx, http.MethodGet, "/admin/v1/keys", nil, indent(r))
}
