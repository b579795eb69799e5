package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// Challenge is a challenge to validate and its right code.
type Challenge struct {
	AuthID, Code string
}

// ReadChallenges reads lines of an authId and its code separated by
// white space; blank lines are skipped. It fails on a line without both,
// or with the reader's error.
func ReadChallenges(r io.Reader) ([]Challenge, error) {
	var out []Challenge
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		switch len(f) {
		case 0:
			continue
		case 2:
			out = append(out, Challenge{AuthID: f[0], Code: f[1]})
		default:
			return nil, fmt.Errorf("line %d: want an authId and a code", n)
		}
	}

	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading challenges: %w", err)
	}

	return out, nil
}

// Validate is a scenario that works through chs: for each challenge it
// sends wrong wrong codes, expecting 400, then the right code, expecting
// 200. One worker takes a challenge from its first request to its last,
// so the requests of a challenge never race each other, while the
// workers' requests interleave and mix right and wrong codes. It reports
// Done when every challenge has been taken.
func Validate(client *http.Client, base string, tokens *Tokens, chs []Challenge, wrong int) Scenario {
	base = strings.TrimSuffix(base, "/")
	var next atomic.Int64
	return func(int) Op {
		cur, step := -1, 0
		return func(ctx context.Context) Outcome {
			if cur < 0 || step > wrong {
				cur, step = int(next.Add(1)-1), 0
			}

			if cur >= len(chs) {
				return Outcome{Done: true}
			}

			c := chs[cur]
			code, want := c.Code, http.StatusOK
			if step < wrong {
				code, want = wrongCode(c.Code, step), http.StatusBadRequest
			}

			step++
			return validateOnce(ctx, client, base, tokens, c.AuthID, code, want)
		}
	}
}

// validateOnce posts one code and expects status want.
func validateOnce(ctx context.Context, client *http.Client, base string, tokens *Tokens,
	authID, code string, want int) Outcome {
	body, err := validateBody(code)
	if err != nil {
		return Outcome{Err: err}
	}

	req, err := tokens.authorized(ctx, http.MethodPost, base+"/v1/otp/"+authID+"/validate", body)
	if err != nil {
		return Outcome{Err: err}
	}

	return send(client, req, want, nil)
}

// validateBody is the request body carrying code. Codes are digits,
// which JSON quotes as they are; anything else is encoded by
// encoding/json.
func validateBody(code string) ([]byte, error) {
	if strings.Trim(code, "0123456789") == "" {
		return append(append([]byte(`{"otp":"`), code...), `"}`...), nil
	}

	body, err := json.Marshal(map[string]string{"otp": code})
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}

	return body, nil
}

// wrongCode returns a code that differs from right in its last digit, a
// different one for each step below 9.
func wrongCode(right string, step int) string {
	if right == "" {
		return "000000"
	}

	last := right[len(right)-1]
	d := (int(last-'0') + 1 + step%9) % 10
	return right[:len(right)-1] + string(rune('0'+d))
}
