package events

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func sampleDelivery() Delivery {
	at := time.Date(2026, 12, 4, 16, 5, 7, 123456789, time.UTC)
	return Delivery{Version: SchemaVersion, AuthID: "0193a0b2-7c1e-7d4f-8a9b-1c2d3e4f5a6b", ClientID: "mfa_abc",
		Channel: ChannelEmail, Generation: 2, Replay: 1, Template: "login", TemplateVersion: 3,
		Locale: "fr-CA", AppName: "Acme <Bank> & Co", Brand: Brand{LogoURL: "https://x.example/l.png"},
		Sender:         Sender{FromAddress: "no-reply@acme.example", DKIMDomain: "acme.example"},
		SMSMaxSegments: 2, CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute), Sealed: []byte{0, 1, 2, 250, 251}}
}

// sameAsEncodingJSON fails t unless the encoder writes d as encoding/json
// does.
func sameAsEncodingJSON(t *testing.T, d *Delivery) {
	t.Helper()
	want, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := appendDelivery(nil, d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encoded\n%s\nencoding/json\n%s", got, want)
	}
}

// The hand-written encoder writes what encoding/json writes.
func TestMarshal_SameBytesAsEncodingJSON(t *testing.T) {
	full := sampleDelivery()
	bare := Delivery{AuthID: "a", Channel: ChannelSMS}
	odd := sampleDelivery()
	odd.AppName = "quote\" back\\ nl\n cr\r tab\t bs\b ff\f nul\x00 esc\x1b del\x7f"
	odd.Sender.FromName = "bad utf-8 \xff\xfe, ls\u2028 ps\u2029, ünïcödé, emoji \U0001F600"
	odd.Locale, odd.Brand, odd.Sealed = "", Brand{}, []byte{}
	odd.CreatedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for name, d := range map[string]Delivery{"full": full, "bare": bare, "odd": odd} {
		t.Run(name, func(t *testing.T) { sameAsEncodingJSON(t, &d) })
	}
}

func TestMarshal_RefusesWhatEncodingJSONRefuses(t *testing.T) {
	d := sampleDelivery()
	d.Channel = 0
	if _, err := d.Marshal(); err == nil {
		t.Error("an unknown channel was encoded")
	}
	d = sampleDelivery()
	d.ExpiresAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := d.Marshal(); err == nil {
		t.Error("a year past 9999 was encoded")
	}
}

func FuzzMarshal(f *testing.F) {
	f.Add("login", "Acme", "no-reply@acme.example", "fr", []byte{1, 2})
	f.Add("<>&", "\u2028\xff", "\x00\"\\", "", []byte(nil))
	f.Fuzz(func(t *testing.T, template, app, from, locale string, sealed []byte) {
		d := sampleDelivery()
		d.Template, d.AppName, d.Sender.FromAddress, d.Locale, d.Sealed = template, app, from, locale, sealed
		d.Brand.PrimaryColor = app
		sameAsEncodingJSON(t, &d)
	})
}

func BenchmarkDelivery_Marshal(b *testing.B) {
	d := sampleDelivery()
	for b.Loop() {
		if _, err := d.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}
