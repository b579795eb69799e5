package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// proc is one running binary whose output goes to a log file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
}

// startProc runs bin with exactly env (and PATH and HOME) and its output
// in logPath. It fails when the binary cannot start.
func startProc(bin, logPath string, env map[string]string, args ...string) (*proc, error) {
	out, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating log %s: %w", logPath, err)
	}

	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Dir(logPath)}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}

	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		_ = out.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}

	p := &proc{name: filepath.Base(bin), cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = out.Close()
		close(p.done)
	}()
	return p, nil
}

// pid returns the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig and waits up to limit, then kills the process. It fails
// with ErrTimeout when the process had to be killed.
func (p *proc) stop(sig syscall.Signal, limit time.Duration) error {
	if p.exited() {
		return nil
	}

	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%w: %s did not stop within %s", ErrTimeout, p.name, limit)
	}
}

// logLines returns the JSON log lines whose msg is msg.
func (p *proc) logLines(msg string) ([]map[string]any, error) {
	raw, err := os.ReadFile(p.logPath)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p.logPath, err)
	}

	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == msg {
			out = append(out, line)
		}
	}

	return out, nil
}

// waitLog polls the log until a line with msg satisfies match and returns
// it. It fails with ErrExited, ErrTimeout, or ctx's error.
func (p *proc) waitLog(ctx context.Context, msg string, limit time.Duration,
	match func(map[string]any) bool) (map[string]any, error) {
	deadline := time.Now().Add(limit)
	for {
		lines, err := p.logLines(msg)
		if err != nil {
			return nil, err
		}

		for _, l := range lines {
			if match == nil || match(l) {
				return l, nil
			}
		}

		switch {
		case p.exited():
			return nil, fmt.Errorf("%w: %s before logging %q; see %s", ErrExited, p.name, msg, p.logPath)
		case time.Now().After(deadline):
			return nil, fmt.Errorf("%w: %s did not log %q within %s", ErrTimeout, p.name, msg, limit)
		}

		if err := sleep(ctx, 25*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// sleep waits for d or until ctx ends, returning ctx's error then.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errStopped joins the stop errors of procs.
func errStopped(procs []*proc, sig syscall.Signal, limit time.Duration) error {
	var errs []error
	for _, p := range procs {
		if p != nil {
			errs = append(errs, p.stop(sig, limit))
		}
	}

	return errors.Join(errs...)
}
