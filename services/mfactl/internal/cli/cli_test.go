package cli

import (
	"context"
	"strings"
	"testing"
)

func TestRun_UnknownCommands(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"--help"}, 0, "commands:"},
		{"nothing", nil, 2, "commands:"},
		{"unknown", []string{"nope"}, 2, `unknown command "nope"`},
		{"group alone", []string{"client"}, 2, "client needs a subcommand; it has: create,"},
		{"group with help", []string{"client", "--help"}, 0, "mfactl client has: create,"},
		{"group with a flag", []string{"client", "--json-ish"}, 2, "client needs a subcommand"},
		{"command with help", []string{"dlq", "replay", "--help"}, 0, "usage: mfactl dlq replay"},
		{"command with an unknown flag", []string{"dlq", "replay", "--nope"}, 2, "usage: mfactl dlq replay"},
		{"unknown subcommand", []string{"client", "frob"}, 2, `client has no subcommand "frob"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			code := Run(context.Background(), tt.args, Env{AdminURL: "http://127.0.0.1:1"}, &out, &errOut)
			if code != tt.code || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("Run(%q) = %d, %q; want %d and %q", tt.args, code, errOut.String(), tt.code, tt.want)
			}
		})
	}
}

func TestTerminalSafe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"id=mfa_1 domain=acme.example", "id=mfa_1 domain=acme.example"},
		{"ops-ééé", "ops-ééé"},
		{"a\nforged\x1b[2J", `"a\nforged\x1b[2J"`},
		{"bidi\u202eoff", `"bidi\u202eoff"`},
		{"bad\xffutf8", `"bad\xffutf8"`},
	}
	for _, tt := range tests {
		if got := terminalSafe(tt.in); got != tt.want {
			t.Errorf("terminalSafe(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
