package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

// answer runs send on a fresh context of a request to target.
func answer(t *testing.T, e *echo.Echo, target string,
	send func(c echo.Context) error) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := send(e.NewContext(httptest.NewRequest(http.MethodPost, target, nil), rec)); err != nil {
		t.Fatal(err)
	}
	return rec
}

// sameAnswer fails unless b.send and c.JSON answer alike.
func sameAnswer(t *testing.T, e *echo.Echo, target string, b createdBody) {
	t.Helper()
	got := answer(t, e, target, func(c echo.Context) error { return b.send(c, http.StatusCreated) })
	want := answer(t, e, target, func(c echo.Context) error { return c.JSON(http.StatusCreated, b) })
	ct := echo.HeaderContentType
	if got.Code != want.Code || got.Body.String() != want.Body.String() ||
		got.Header().Get(ct) != want.Header().Get(ct) {
		t.Errorf("send(%+v) to %s = %d %q %q, c.JSON gives %d %q %q", b, target,
			got.Code, got.Header().Get(ct), got.Body, want.Code, want.Header().Get(ct), want.Body)
	}
}

func TestCreatedBody_SendsWhatJSONWould(t *testing.T) {
	usual := createdBody{AuthID: "0190f3a4-7c1e-7b2a-9c4d-5e6f7a8b9c0d", Status: "SUCCESS",
		Message: "OTP has been sent to the device"}
	t.Run("usual", func(t *testing.T) { sameAnswer(t, echo.New(), "/", usual) })
	t.Run("empty", func(t *testing.T) { sameAnswer(t, echo.New(), "/", createdBody{}) })
	t.Run("pretty", func(t *testing.T) { sameAnswer(t, echo.New(), "/?pretty", usual) })
	t.Run("debug", func(t *testing.T) {
		e := echo.New()
		e.Debug = true
		sameAnswer(t, e, "/", usual)
	})
	// Every byte in every field, alone, so that each escape is checked.
	t.Run("bytes", func(t *testing.T) {
		e := echo.New()
		for ch := range 256 {
			v := "a" + string([]byte{byte(ch)}) + "z"
			sameAnswer(t, e, "/", createdBody{AuthID: v, Status: "SUCCESS", Message: "m"})
			sameAnswer(t, e, "/", createdBody{AuthID: "id", Status: v, Message: "m"})
			sameAnswer(t, e, "/", createdBody{AuthID: "id", Status: "SUCCESS", Message: v})
		}
	})
}
