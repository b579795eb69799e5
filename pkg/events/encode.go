package events

import (
	"encoding/base64"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// A delivery is encoded on every OTP request, so it is written out field
// by field rather than through reflection; the bytes are the ones
// encoding/json would write for the same value, which the tests check.

// appendDelivery appends d as JSON.
func appendDelivery(b []byte, d *Delivery) ([]byte, error) {
	channel, err := d.Channel.MarshalText()
	if err != nil {
		return nil, err
	}

	b = appendInt(append(b, `{"v":`...), d.Version)
	b = appendString(append(b, `,"authId":`...), d.AuthID)
	b = appendString(append(b, `,"clientId":`...), d.ClientID)
	b = appendString(append(b, `,"channel":`...), string(channel))
	b = appendInt(append(b, `,"generation":`...), d.Generation)
	b = appendInt(append(b, `,"replay":`...), d.Replay)
	b = appendString(append(b, `,"template":`...), d.Template)
	if d.TemplateVersion != 0 {
		b = appendInt(append(b, `,"templateVersion":`...), d.TemplateVersion)
	}
	b = appendOptional(b, "locale", d.Locale)
	b = appendOptional(b, "appName", d.AppName)
	if d.Brand != (Brand{}) {
		b = append(b, `,"brand":{`...)
		b = appendFields(b, "logoUrl", d.Brand.LogoURL, "primaryColor", d.Brand.PrimaryColor,
			"supportEmail", d.Brand.SupportEmail)
		b = append(b, '}')
	}
	b = append(b, `,"sender":{`...)
	b = appendFields(b, "fromAddress", d.Sender.FromAddress, "fromName", d.Sender.FromName,
		"replyTo", d.Sender.ReplyTo, "smsFrom", d.Sender.SMSFrom, "dkimDomain", d.Sender.DKIMDomain)
	b = append(b, '}')
	if d.SMSMaxSegments != 0 {
		b = appendInt(append(b, `,"smsMaxSegments":`...), d.SMSMaxSegments)
	}
	if b, err = appendTime(append(b, `,"createdAt":`...), d.CreatedAt); err != nil {
		return nil, err
	}
	if b, err = appendTime(append(b, `,"expiresAt":`...), d.ExpiresAt); err != nil {
		return nil, err
	}

	b = append(b, `,"sealed":`...)
	if d.Sealed == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, d.Sealed)
		b = append(b, '"')
	}
	return append(b, '}'), nil
}

func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }

// appendOptional appends ,"name":value unless value is empty.
func appendOptional(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(append(append(b, `,"`...), name...), `":`...)
	return appendString(b, value)
}

// appendFields appends the non-empty ones of name, value pairs as the
// members of an object, without its braces.
func appendFields(b []byte, pairs ...string) []byte {
	first := true
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(append(append(b, '"'), pairs[i]...), `":`...)
		b = appendString(b, pairs[i+1])
	}
	return b
}

// appendTime appends t as encoding/json does: RFC 3339 with nanoseconds,
// for years 0 to 9999 only.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, errors.New("events: time year outside of range [0,9999]")
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping as encoding/json
// does: quotes, backslashes and control characters; <, > and & for
// HTML; U+2028 and U+2029; and invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}

		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
