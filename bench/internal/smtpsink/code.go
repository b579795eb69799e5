package smtpsink

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
)

// ErrNoCode is returned when a message has no text part with a code.
var ErrNoCode = errors.New("smtpsink: no code in message")

// codePattern is a one-time code of six to ten digits standing alone.
var codePattern = regexp.MustCompile(`\b\d{6,10}\b`)

// Code returns the one-time code in the plain-text part of raw. It fails
// with ErrNoCode, or when raw is not a readable message.
func Code(raw []byte) (string, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("smtpsink: reading message: %w", err)
	}

	text, err := plainText(textproto.MIMEHeader(msg.Header), msg.Body)
	if err != nil {
		return "", err
	}

	code := codePattern.FindString(text)
	if code == "" {
		return "", ErrNoCode
	}

	return code, nil
}

// plainText finds the first text/plain part under h and body and returns
// it decoded.
func plainText(h textproto.MIMEHeader, body io.Reader) (string, error) {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mt = "text/plain"
	}

	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return "", ErrNoCode
			}

			if text, err := plainText(p.Header, p); err == nil {
				return text, nil
			}
		}
	}

	if mt != "text/plain" {
		return "", ErrNoCode
	}

	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &lineJoiner{r: body})
	}

	b, err := io.ReadAll(body)
	if err != nil {
		return "", fmt.Errorf("smtpsink: decoding text part: %w", err)
	}

	return string(b), nil
}

// lineJoiner drops CR and LF so that wrapped base64 decodes.
type lineJoiner struct{ r io.Reader }

// Read reads from the underlying reader and drops line breaks in place.
func (l *lineJoiner) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	out := p[:0]
	for _, c := range p[:n] {
		if c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}

	return len(out), err
}
