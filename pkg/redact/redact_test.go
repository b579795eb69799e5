package redact

import "testing"

func TestDestination(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"email", "jon.doe@example.com", "j***@e***.com"},
		{"email subdomain", "a@mail.example.co.uk", "a***@m***.uk"},
		{"email no dot", "root@localhost", "r***@***"},
		{"email unicode", "élodie@exemple.fr", "é***@e***.fr"},
		{"empty local part", "@example.com", "***"},
		{"phone", "+14155550123", "+14*******23"},
		{"phone national", "020 7946 0018", "02*******18"},
		{"short", "+1234", "***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Destination(tt.in); got != tt.want {
				t.Errorf("Destination(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
