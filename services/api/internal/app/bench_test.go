package app_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/apitest"
)

// unlimited raises a benchmark client's limits: rate limits are not what
// these measure.
var unlimited = map[string]any{"limits": map[string]any{
	"client":      map[string]int{"max": 1 << 30, "windowSeconds": 60},
	"user":        map[string]int{"max": 1 << 30, "windowSeconds": 60},
	"destination": map[string]int{"max": 1 << 30, "windowSeconds": 60},
}}

func BenchmarkAPI_CreateOTP(b *testing.B) {
	api := apitest.Start(b, map[string]string{"MFA_LOG_LEVEL": "warn"})
	api.SkipSpec = true
	id, secret := api.CreateClient(unlimited)
	tok := api.Token(id, secret, "")
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			r := api.Do(http.MethodPost, "/v1/otp", tok, emailBody(fmt.Sprintf("u%d", i), fmt.Sprintf("u%d@example.com", i)))
			if r.Status != http.StatusCreated {
				b.Fatalf("POST /v1/otp = %d %s", r.Status, r.Body)
			}
		}
	})
}

func BenchmarkAPI_Validate(b *testing.B) {
	api := apitest.Start(b, map[string]string{"MFA_LOG_LEVEL": "warn"})
	api.SkipSpec = true
	id, secret := api.CreateClient(unlimited)
	tok := api.Token(id, secret, "")
	ids := make([]string, 0, b.N)
	for i := 0; i < b.N; i++ {
		r := api.Do(http.MethodPost, "/v1/otp", tok, emailBody(fmt.Sprintf("v%d", i), fmt.Sprintf("v%d@example.com", i)))
		ids = append(ids, r.JSON["authId"].(string))
	}
	codes := map[string]string{}
	for _, d := range api.Deliveries() {
		codes[d.Delivery.AuthID] = d.Secret.Code
	}
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[n.Add(1)-1]
			if r := validate(api, tok, id, codes[id]); r.Status != http.StatusOK {
				b.Fatalf("validate = %d %s", r.Status, r.Body)
			}
		}
	})
}
