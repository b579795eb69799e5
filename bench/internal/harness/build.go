package harness

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
)

// binaries are the packages built for a run, by binary name.
var binaries = []string{
	"github.com/ciam-mfa/ciam-mfa/services/api/cmd/mfa-api",
	"github.com/ciam-mfa/ciam-mfa/services/email-worker/cmd/mfa-email-worker",
	"github.com/ciam-mfa/ciam-mfa/services/mfactl/cmd/mfactl",
}

// build compiles the binaries from this workspace into dir. It fails with
// the compiler's output.
func build(ctx context.Context, dir string) error {
	args := append([]string{"build", "-o", dir + "/"}, binaries...)
	cmd := exec.CommandContext(ctx, "go", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building binaries: %w\n%s", err, out.String())
	}

	return nil
}
