package vonagesig

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	params := map[string]string{"messageId": "abc", "status": "delivered", "client-ref": "x.1.0",
		"err-code": "0", "text": "a&b=c", "timestamp": strconv.FormatInt(now.Unix(), 10)}
	// Computed by hand, independently of Sign.
	base := "&client-ref=x.1.0&err-code=0&messageId=abc&status=delivered&text=a_b_c&timestamp=" + params["timestamp"]
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(base))
	params["sig"] = strings.ToUpper(hex.EncodeToString(mac.Sum(nil)))
	if err := Verify(params, "s3cret", "sha256", now); err != nil {
		t.Fatalf("a correct HMAC-SHA256 signature failed: %v", err)
	}
	md := md5.Sum([]byte(base + "s3cret"))
	params["sig"] = hex.EncodeToString(md[:])
	if err := Verify(params, "s3cret", "md5hash", now); err != nil {
		t.Fatalf("a correct md5hash signature failed: %v", err)
	}

	tests := []struct {
		name   string
		mutate func(map[string]string)
		want   error
	}{
		{"tampered status", func(p map[string]string) { p["status"] = "failed" }, ErrMismatch},
		{"no sig", func(p map[string]string) { delete(p, "sig") }, ErrMissing},
		{"stale", func(p map[string]string) { p["timestamp"] = strconv.FormatInt(now.Unix()-600, 10) }, ErrStale},
		{"no timestamp", func(p map[string]string) { delete(p, "timestamp") }, ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := map[string]string{}
			for k, v := range params {
				p[k] = v
			}
			tt.mutate(p)
			if err := Verify(p, "s3cret", "md5hash", now); !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}
