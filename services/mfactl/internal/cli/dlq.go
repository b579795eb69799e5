package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/ciam-mfa/ciam-mfa/services/mfactl/internal/adminclient"
)

func init() {
	register(&cmd{name: "dlq list", usage: "[--channel email|sms] [--since 2h|RFC3339] [--auth-id ID]", run: dlqList})
	register(&cmd{name: "dlq replay", run: dlqReplay,
		usage: "[--channel email|sms] [--since 2h|RFC3339] [--auth-id ID] [--dry-run]"})
}

type dlqFlags struct {
	channel, since, authID string
	dryRun                 bool
}

func (r *runner) parseDLQ(name string, args []string, withDryRun bool) (*dlqFlags, error) {
	fs := r.flags(name)
	f := &dlqFlags{}
	fs.StringVar(&f.channel, "channel", "", "email or sms")
	fs.StringVar(&f.since, "since", "", "only dead letters since this time or duration ago")
	fs.StringVar(&f.authID, "auth-id", "", "only this challenge")
	if withDryRun {
		fs.BoolVar(&f.dryRun, "dry-run", false, "report what would be replayed, change nothing")
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return nil, errUsage
	}
	return f, nil
}

type deadLetter struct {
	Seq         uint64    `json:"seq"`
	AuthID      string    `json:"authId"`
	Channel     string    `json:"channel"`
	Destination string    `json:"destination"`
	Reason      string    `json:"reason"`
	Attempts    int       `json:"attempts"`
	FailedAt    time.Time `json:"failedAt"`
}

func dlqList(ctx context.Context, r *runner, args []string) error {
	f, err := r.parseDLQ("dlq list", args, false)
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"channel": f.channel, "since": f.since, "authId": f.authID} {
		if v != "" {
			q.Set(k, v)
		}
	}

	return r.call(ctx, http.MethodGet, "/admin/v1/dlq?"+q.Encode(), nil, func(raw json.RawMessage) error {
		var v struct {
			DeadLetters []deadLetter `json:"deadLetters"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(r.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tAUTH ID\tCHANNEL\tDESTINATION\tREASON\tATTEMPTS\tFAILED AT")
		for _, d := range v.DeadLetters {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", d.Seq, d.AuthID, d.Channel, d.Destination,
				d.Reason, d.Attempts, d.FailedAt.Format(time.RFC3339))
		}

		if err := tw.Flush(); err != nil {
			return err
		}
		_, err := fmt.Fprintf(r.out, "%d dead letters\n", len(v.DeadLetters))
		return err
	})
}

type replayOutcome struct {
	Seq        uint64 `json:"seq"`
	AuthID     string `json:"authId"`
	Replay     int    `json:"replay"`
	Skipped    string `json:"skipped"`
	NotDeleted bool   `json:"notDeleted"`
}

func dlqReplay(ctx context.Context, r *runner, args []string) error {
	f, err := r.parseDLQ("dlq replay", args, true)
	if err != nil {
		return err
	}
	body := map[string]any{"channel": f.channel, "since": f.since, "authId": f.authID, "dryRun": f.dryRun}
	err = r.call(ctx, http.MethodPost, "/admin/v1/dlq/replay", body, r.printReplay)
	// A replay that stopped part-way says what it did before it stopped.
	var apiErr *adminclient.APIError
	if errors.As(err, &apiErr) && apiErr.Code == "UNAVAILABLE" {
		var v struct {
			Report json.RawMessage `json:"report"`
		}
		if json.Unmarshal(apiErr.Body, &v) == nil && v.Report != nil {
			if r.json {
				_, _ = fmt.Fprintln(r.out, string(v.Report))
			} else {
				_ = r.printReplay(v.Report)
			}
		}
	}

	return err
}

// printReplay writes a replay report for people.
func (r *runner) printReplay(raw json.RawMessage) error {
	var v struct {
		DryRun   bool            `json:"dryRun"`
		Replayed []replayOutcome `json:"replayed"`
		Skipped  []replayOutcome `json:"skipped"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	verb := "replayed"
	if v.DryRun {
		verb = "would replay"
	}
	for _, o := range v.Replayed {
		note := ""
		if o.NotDeleted {
			note = ", still in MFA_DLQ: a replay would send it again"
		}
		fmt.Fprintf(r.out, "%s  seq %d  %s  (replay %d%s)\n", verb, o.Seq, o.AuthID, o.Replay, note)
	}
	for _, o := range v.Skipped {
		fmt.Fprintf(r.out, "skipped  seq %d  %s  %s\n", o.Seq, o.AuthID, o.Skipped)
	}
	_, err := fmt.Fprintf(r.out, "%d %s, %d skipped\n", len(v.Replayed), verb, len(v.Skipped))
	return err
}
