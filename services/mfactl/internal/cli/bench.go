package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ciam-mfa/ciam-mfa/pkg/envconf"
	"github.com/ciam-mfa/ciam-mfa/services/mfactl/internal/loadgen"
)

func init() {
	common := "--url URL [--concurrency N] [--duration D] [--warmup D] [--requests N] " +
		"[--rate R] [--timeout D] [--allow-remote]"
	creds := " [--env-file FILE | --client-id ID --client-secret S]"
	register(&cmd{name: "bench http", run: benchHTTP,
		usage: common + " [--method M] [--body JSON] [--status N]"})
	register(&cmd{name: "bench token", run: benchToken, usage: common + creds})
	register(&cmd{name: "bench otp", run: benchOTP,
		usage: common + creds + " [--prefix P] [--domain D] [--template T] [--expires-in S] [--out FILE]"})
	register(&cmd{name: "bench validate", run: benchValidate,
		usage: common + creds + " --codes FILE [--wrong N]"})
}

// benchFlags are the flags every bench command takes.
type benchFlags struct {
	url         string
	opts        loadgen.Options
	timeout     time.Duration
	allowRemote bool

	envFile, clientID, clientSecret string
}

// bind adds the run flags, and the credential flags when creds is set.
func (f *benchFlags) bind(fs *flag.FlagSet, creds bool) {
	fs.StringVar(&f.url, "url", "", "base URL of the server to load (loopback only by default)")
	fs.IntVar(&f.opts.Concurrency, "concurrency", 64, "workers, each with one request in flight")
	fs.DurationVar(&f.opts.Duration, "duration", 10*time.Second, "how long to measure (at most 1h)")
	fs.DurationVar(&f.opts.Warmup, "warmup", 0, "unmeasured load before measuring")
	fs.IntVar(&f.opts.Requests, "requests", 0, "stop after this many requests (0: no limit)")
	fs.Float64Var(&f.opts.Rate, "rate", 0, "requests a second, paced (0: closed loops)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "bound on one request")
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "allow a target that is not loopback")
	fs.BoolVar(&f.opts.Samples, "samples", false,
		"add every measured latency in µs to the --json result (samplesUs), to merge runs")
	if creds {
		fs.StringVar(&f.envFile, "env-file", "", "file with MFA_CLIENT_ID and MFA_CLIENT_SECRET lines")
		fs.StringVar(&f.clientID, "client-id", "", "OAuth client id (overrides --env-file)")
		fs.StringVar(&f.clientSecret, "client-secret", "", "OAuth client secret (overrides --env-file)")
	}
}

// parse parses args and checks the target.
func (f *benchFlags) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || f.url == "" {
		return errUsage
	}

	if _, err := loadgen.CheckTarget(f.url, f.allowRemote); err != nil {
		return err
	}

	return nil
}

// credentials reads the client credentials from the env file and flags.
func (f *benchFlags) credentials() (loadgen.Credentials, error) {
	cr := loadgen.Credentials{}
	if f.envFile != "" {
		values, err := envconf.ReadFile(f.envFile)
		if err != nil {
			return cr, fmt.Errorf("reading %s: %w", f.envFile, err)
		}

		cr.ID, cr.Secret = values["MFA_CLIENT_ID"], values["MFA_CLIENT_SECRET"]
	}

	if f.clientID != "" {
		cr.ID = f.clientID
	}

	if f.clientSecret != "" {
		cr.Secret = f.clientSecret
	}

	if cr.ID == "" || cr.Secret == "" {
		return cr, errors.New("client credentials needed: --env-file or --client-id and --client-secret")
	}

	return cr, nil
}

// report prints a result as JSON with --json, else as text.
func (r *runner) report(res *loadgen.Result) error {
	if !r.json {
		return res.WriteText(r.out)
	}

	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encoding result: %w", err)
	}

	_, err = fmt.Fprintln(r.out, string(b))
	return err
}

// execute runs sc and reports the result.
func (r *runner) execute(ctx context.Context, name string, f *benchFlags, sc loadgen.Scenario) error {
	res, err := loadgen.Run(ctx, name, f.opts, sc)
	if err != nil {
		return err
	}

	return r.report(res)
}

func benchHTTP(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("bench http")
	var f benchFlags
	f.bind(fs, false)
	method := fs.String("method", http.MethodGet, "request method")
	body := fs.String("body", "", "request body, sent as application/json")
	status := fs.Int("status", http.StatusOK, "the status every answer should have")
	if err := f.parse(fs, args); err != nil {
		return err
	}

	var raw []byte
	contentType := ""
	if *body != "" {
		raw, contentType = []byte(*body), "application/json"
	}

	client := loadgen.NewHTTPClient(f.opts.Concurrency, f.timeout)
	sc := loadgen.Ping(client, strings.ToUpper(*method), f.url, contentType, raw, *status)
	return r.execute(ctx, "http "+*method+" "+f.url, &f, sc)
}

func benchToken(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("bench token")
	var f benchFlags
	f.bind(fs, true)
	if err := f.parse(fs, args); err != nil {
		return err
	}

	cr, err := f.credentials()
	if err != nil {
		return err
	}

	client := loadgen.NewHTTPClient(f.opts.Concurrency, f.timeout)
	return r.execute(ctx, "token", &f, loadgen.IssueTokens(client, f.url, cr))
}

func benchOTP(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("bench otp")
	var f benchFlags
	f.bind(fs, true)
	var o loadgen.OTPOptions
	fs.StringVar(&o.Prefix, "prefix", "bench", "start of every userName and email local part")
	fs.StringVar(&o.Domain, "domain", "example.com", "email domain")
	fs.StringVar(&o.Template, "template", "demotemplate", "templateName")
	fs.IntVar(&o.ExpiresIn, "expires-in", 0, "expiresInSeconds (0: the client's default)")
	out := fs.String("out", "", "file to write authId, email and send time of each challenge to")
	if err := f.parse(fs, args); err != nil {
		return err
	}

	cr, err := f.credentials()
	if err != nil {
		return err
	}

	if *out != "" {
		file, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("creating %s: %w", *out, err)
		}

		defer file.Close()
		o.Record = loadgen.NewRecorder(file)
	}

	client := loadgen.NewHTTPClient(f.opts.Concurrency, f.timeout)
	tokens := loadgen.NewTokens(client, f.url, cr)
	if _, err := tokens.Get(ctx); err != nil {
		return err
	}

	scenario, err := loadgen.CreateOTP(client, f.url, tokens, o)
	if err != nil {
		return err
	}

	res, err := loadgen.Run(ctx, "otp", f.opts, scenario)
	if err != nil {
		return err
	}

	if o.Record != nil {
		if err := o.Record.Flush(); err != nil {
			return err
		}
	}

	return r.report(res)
}

func benchValidate(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("bench validate")
	var f benchFlags
	f.bind(fs, true)
	codes := fs.String("codes", "", "file of \"authId code\" lines")
	wrong := fs.Int("wrong", 1, "wrong codes sent before the right one, per challenge (0 to 4)")
	if err := f.parse(fs, args); err != nil {
		return err
	}

	if *codes == "" || *wrong < 0 || *wrong > 4 {
		return errUsage
	}

	cr, err := f.credentials()
	if err != nil {
		return err
	}

	chs, err := readChallenges(*codes)
	if err != nil {
		return err
	}

	client := loadgen.NewHTTPClient(f.opts.Concurrency, f.timeout)
	tokens := loadgen.NewTokens(client, f.url, cr)
	if _, err := tokens.Get(ctx); err != nil {
		return err
	}

	return r.execute(ctx, "validate", &f, loadgen.Validate(client, f.url, tokens, chs, *wrong))
}

// readChallenges reads a codes file; it fails with loadgen.ErrNoWork when
// the file holds none.
func readChallenges(path string) ([]loadgen.Challenge, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}

	defer file.Close()
	chs, err := loadgen.ReadChallenges(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}

	if len(chs) == 0 {
		return nil, fmt.Errorf("%s: %w", path, loadgen.ErrNoWork)
	}

	return chs, nil
}
