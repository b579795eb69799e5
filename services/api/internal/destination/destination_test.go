package destination

import (
	"errors"
	"testing"
)

func TestParseEmail(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		opts    EmailOptions
		addr    string
		key     string
		wantErr bool
	}{
		{name: "plain", in: "jon.doe@example.com", addr: "jon.doe@example.com", key: "jon.doe@example.com"},
		{name: "case kept in address", in: "Jon.Doe@Example.COM", addr: "Jon.Doe@example.com", key: "jon.doe@example.com"},
		{name: "whitespace", in: "  jon.doe@example.com\t", addr: "jon.doe@example.com", key: "jon.doe@example.com"},
		{name: "plus tag", in: "jon.doe+mfa@example.com", addr: "jon.doe+mfa@example.com", key: "jon.doe@example.com"},
		{name: "idn domain", in: "jon@bücher.example", addr: "jon@xn--bcher-kva.example", key: "jon@xn--bcher-kva.example"},
		{name: "display name", in: "Jon <jon@example.com>", wantErr: true},
		{name: "brackets", in: "<jon@example.com>", wantErr: true},
		{name: "comment", in: "jon@example.com (Jon)", wantErr: true},
		{name: "quoted", in: `"jon doe"@example.com`, wantErr: true},
		{name: "crlf", in: "jon@example.com\r\nBcc: x@example.com", wantErr: true},
		{name: "two ats", in: "a@b@example.com", wantErr: true},
		{name: "no domain dot", in: "jon@localhost", wantErr: true},
		{name: "literal", in: "jon@[127.0.0.1]", wantErr: true},
		{name: "double dot", in: "jon..doe@example.com", wantErr: true},
		{name: "too long", in: string(make([]byte, 250)) + "@x.io", wantErr: true},
		{name: "unicode local refused", in: "jöhn@example.com", wantErr: true},
		{name: "unicode local allowed", in: "jöhn@example.com", opts: EmailOptions{AllowUnicodeLocal: true},
			addr: "jöhn@example.com", key: "jöhn@example.com"},
		{name: "kelvin sign not folded", in: "\u212Aate@example.com", opts: EmailOptions{AllowUnicodeLocal: true},
			addr: "\u212Aate@example.com", key: "\u212Aate@example.com"},
		{name: "dotted quad", in: "jon@1.2.3.4", wantErr: true},
		{name: "one letter tld", in: "jon@example.c", wantErr: true},
		{name: "decomposed accent keyed as composed", in: "jose\u0301@example.com",
			opts: EmailOptions{AllowUnicodeLocal: true},
			addr: "jose\u0301@example.com", key: "jos\u00e9@example.com"},
		{name: "fullwidth not folded", in: "ｊｏｎ@example.com", opts: EmailOptions{AllowUnicodeLocal: true},
			addr: "ｊｏｎ@example.com", key: "ｊｏｎ@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEmail(tt.in, tt.opts)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidEmail) {
					t.Fatalf("ParseEmail(%q) = %+v, %v; want ErrInvalidEmail", tt.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseEmail(%q): %v", tt.in, err)
			}
			if got.Address != tt.addr || got.Key != tt.key {
				t.Errorf("ParseEmail(%q) = %q key %q, want %q key %q", tt.in, got.Address, got.Key, tt.addr, tt.key)
			}
		})
	}
}

func TestParsePhone(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		opts    PhoneOptions
		want    string
		wantErr error
	}{
		{name: "e164", in: "+14155550123", want: "+14155550123"},
		{name: "spaces", in: "+1 415 555 0123", want: "+14155550123"},
		{name: "dashes", in: "+1-415-555-0123", want: "+14155550123"},
		{name: "uk mobile", in: "+44 7400 123456", want: "+447400123456"},
		{name: "national with region", in: "07400 123456", opts: PhoneOptions{DefaultRegion: "GB"}, want: "+447400123456"},
		{name: "national without region", in: "07400 123456", wantErr: ErrInvalidPhone},
		{name: "letters", in: "+1 415 CALL NOW", wantErr: ErrInvalidPhone},
		{name: "parens", in: "+1 (415) 555-0123", wantErr: ErrInvalidPhone},
		{name: "too short", in: "+1", wantErr: ErrInvalidPhone},
		{name: "invalid", in: "+999 1234567", wantErr: ErrInvalidPhone},
		{name: "uk fixed line", in: "+44 20 7946 0018", wantErr: ErrPhoneType},
		{name: "uk premium", in: "+44 909 876 5432", wantErr: ErrPhoneType},
		{name: "region not allowed", in: "+447400123456", opts: PhoneOptions{AllowedRegions: []string{"US"}},
			wantErr: ErrCountry},
		{name: "satellite", in: "+881 6 12345678", wantErr: ErrCountry},
		{name: "region allowed", in: "+447400123456", opts: PhoneOptions{AllowedRegions: []string{"gb"}},
			want: "+447400123456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePhone(tt.in, tt.opts)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParsePhone(%q) = %+v, %v; want %v", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.E164 != tt.want {
				t.Fatalf("ParsePhone(%q) = %q, %v; want %q", tt.in, got.E164, err, tt.want)
			}
		})
	}
}

func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{"jon@example.com", "a+b@bücher.de", "x@y", "\"q\"@x.io"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, in string, unicodeOK bool) {
		e, err := ParseEmail(in, EmailOptions{AllowUnicodeLocal: unicodeOK})
		if err != nil {
			return
		}
		if len(e.Address) > MaxEmailLen {
			t.Fatalf("address %q longer than %d", e.Address, MaxEmailLen)
		}
		for _, r := range e.Address {
			if r < 0x20 || r == 0x7f || r == ' ' || r == '<' || r == '>' {
				t.Fatalf("address %q holds %q", e.Address, r)
			}
		}
		again, err := ParseEmail(e.Address, EmailOptions{AllowUnicodeLocal: unicodeOK})
		if err != nil || again.Key != e.Key {
			t.Fatalf("reparse of %q = %+v, %v; want key %q", e.Address, again, err, e.Key)
		}
	})
}

func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{"+14155550123", "+44 7400 123456", "07400-123456", "+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParsePhone(in, PhoneOptions{DefaultRegion: "GB"})
		if err != nil {
			return
		}
		again, err := ParsePhone(p.E164, PhoneOptions{})
		if err != nil || again.E164 != p.E164 {
			t.Fatalf("reparse of %q = %q, %v", p.E164, again.E164, err)
		}
	})
}
