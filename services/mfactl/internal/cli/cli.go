// Package cli implements mfactl's commands. Each is a thin call to the
// admin API; with --json the API's answer is printed as it came.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ciam-mfa/ciam-mfa/pkg/envconf"
	"github.com/ciam-mfa/ciam-mfa/services/mfactl/internal/adminclient"
)

// Env is what commands read from the environment.
type Env struct {
	AdminURL   string
	AdminToken string
	NATSURL    string
	// Actor names the operator in the audit log: $USER@host.
	Actor string
}

// LoadEnv reads MFA_ADMIN_URL, MFA_ADMIN_TOKEN and MFA_NATS_URL, with the
// make run defaults; a missing token is read from var/dev.env.
func LoadEnv(l *envconf.Loader) Env {
	dir := l.String("MFA_DATA_DIR", "var")
	if values, err := envconf.ReadFile(filepath.Join(dir, "dev.env")); err == nil {
		l.Fallback(map[string]string{"MFA_ADMIN_TOKEN": values["MFA_ADMIN_TOKEN"]})
	}
	host, _ := os.Hostname()
	return Env{
		AdminURL:   l.String("MFA_ADMIN_URL", "http://127.0.0.1:8081"),
		AdminToken: l.String("MFA_ADMIN_TOKEN", ""),
		NATSURL:    l.String("MFA_NATS_URL", "nats://127.0.0.1:4222"),
		Actor:      l.String("USER", "operator") + "@" + host + " (mfactl)",
	}
}

// errUsage means the command line was wrong; usage has been printed.
var errUsage = errors.New("usage")

// cmd is one command.
type cmd struct {
	name  string
	usage string
	run   func(ctx context.Context, r *runner, args []string) error
}

// runner carries what every command needs.
type runner struct {
	env    Env
	out    io.Writer
	errOut io.Writer
	json   bool
	api    *adminclient.Client
}

// Run runs mfactl with args (without the program name) and returns the exit
// code: 0 done, 1 failed, 2 bad usage.
func Run(ctx context.Context, args []string, env Env, out, errOut io.Writer) int {
	r := &runner{env: env, out: out, errOut: errOut, api: adminclient.New(env.AdminURL, env.AdminToken, env.Actor)}
	args, r.json = stripFlag(args, "--json")
	if len(args) == 0 {
		r.help()
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		r.help()
		return 0
	}

	name := args[0]
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		if _, ok := commands[name+" "+args[1]]; ok {
			name, args = name+" "+args[1], args[1:]
		}
	}

	c, ok := commands[name]
	if !ok {
		return r.unknown(args)
	}

	if err := c.run(ctx, r, args[1:]); err != nil {
		if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(errOut, "usage: mfactl %s %s\n", c.name, c.usage)
			if errors.Is(err, flag.ErrHelp) || asksHelp(args[1:]) {
				return 0
			}
			return 2
		}

		fmt.Fprintf(errOut, "mfactl %s: %v\n", c.name, err)
		return 1
	}

	return 0
}

// asksHelp reports whether args ask for help, which the flag package
// answers by printing the flags and failing the parse.
func asksHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return true
		case "--":
			return false
		}
	}
	return false
}

var commands = map[string]*cmd{}

func register(c *cmd) { commands[c.name] = c }

// unknown says that args name no command: for a group such as "client",
// which subcommands it has. It returns the exit code: 0 when help was
// asked for a group, else 2.
func (r *runner) unknown(args []string) int {
	var subs []string
	for name := range commands {
		if sub, ok := strings.CutPrefix(name, args[0]+" "); ok {
			subs = append(subs, sub)
		}
	}
	if len(subs) == 0 {
		fmt.Fprintf(r.errOut, "mfactl: unknown command %q\n\n", args[0])
		r.help()
		return 2
	}

	sort.Strings(subs)
	if len(args) == 2 && (args[1] == "-h" || args[1] == "--help" || args[1] == "help") {
		fmt.Fprintf(r.errOut, "mfactl %s has: %s\n", args[0], strings.Join(subs, ", "))
		return 0
	}
	what := "needs a subcommand"
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		what = fmt.Sprintf("has no subcommand %q", args[1])
	}
	fmt.Fprintf(r.errOut, "mfactl: %s %s; it has: %s\n", args[0], what, strings.Join(subs, ", "))
	return 2
}

func (r *runner) help() {
	fmt.Fprintln(r.errOut, "usage: mfactl [--json] <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(r.errOut, "  %-22s %s\n", n, commands[n].usage)
	}
	fmt.Fprintln(r.errOut, "\nenvironment: MFA_ADMIN_URL (http://127.0.0.1:8081), MFA_ADMIN_TOKEN "+
		"(else var/dev.env), MFA_NATS_URL")
}

func stripFlag(args []string, f string) ([]string, bool) {
	out := make([]string, 0, len(args))
	found := false
	for _, a := range args {
		if a == f {
			found = true
			continue
		}

		out = append(out, a)
	}

	return out, found
}

// flags returns a flag set that reports errors as errUsage.
func (r *runner) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(r.errOut)
	return fs
}

// call runs an admin request and prints the answer: raw JSON with --json,
// else through pretty.
func (r *runner) call(ctx context.Context, method, path string, body any, pretty func(json.RawMessage) error) error {
	if r.env.AdminToken == "" {
		return errors.New("MFA_ADMIN_TOKEN is not set (and no var/dev.env was found)")
	}
	raw, err := r.api.Do(ctx, method, path, body)
	if err != nil {
		return err
	}
	if r.json || pretty == nil {
		_, err := fmt.Fprintln(r.out, string(raw))
		return err
	}

	return pretty(raw)
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}

	return out
}
