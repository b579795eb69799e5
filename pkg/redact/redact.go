// Package redact masks email addresses and phone numbers for logs, headers
// and operator output, so that a destination can be recognised by the person
// who knows it but not read off by anyone else.
package redact

import "strings"

// Email masks an address, keeping the first character of the local part and
// the domain's top-level label: "jon.doe@example.com" becomes
// "j***@e***.com". Anything without an "@" is masked whole.
func Email(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" {
		return "***"
	}
	var b strings.Builder
	b.WriteString(firstRune(local))
	b.WriteString("***@")
	host, tld, hasDot := cutLast(domain, ".")
	if !hasDot {
		b.WriteString("***")
		return b.String()
	}

	b.WriteString(firstRune(host))
	b.WriteString("***.")
	b.WriteString(tld)

	return b.String()
}

// Phone masks a phone number, keeping a leading "+", the first two digits
// (the country code or part of it) and the last two: "+14155550123" becomes
// "+14*******23". Numbers of fewer than six digits are masked whole.
func Phone(number string) string {
	digits := make([]byte, 0, len(number))
	for i := 0; i < len(number); i++ {
		if c := number[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}

	if len(digits) < 6 {
		return "***"
	}
	prefix := ""
	if strings.HasPrefix(number, "+") {
		prefix = "+"
	}
	n := len(digits)

	return prefix + string(digits[:2]) + strings.Repeat("*", n-4) + string(digits[n-2:])
}

// Destination masks a destination of either kind: addresses with an "@" as
// an email, anything else as a phone number.
func Destination(dest string) string {
	if strings.Contains(dest, "@") {
		return Email(dest)
	}
	return Phone(dest)
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
