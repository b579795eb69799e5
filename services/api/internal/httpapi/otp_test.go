package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestCreatedBody_SendsWhatJSONWould(t *testing.T) {
	e := echo.New()
	answer := func(send func(c echo.Context) error) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		if err := send(e.NewContext(httptest.NewRequest(http.MethodPost, "/", nil), rec)); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	for _, b := range []createdBody{
		{AuthID: "0190f3a4-7c1e-7b2a-9c4d-5e6f7a8b9c0d", Status: "SUCCESS", Message: "OTP has been sent to the device"},
		{AuthID: "", Status: "", Message: ""},
		{AuthID: `a"b`, Status: `back\slash`, Message: "tab\there"},
		{AuthID: "x", Status: "<script>&", Message: "caf\u00e9 \u2028 \x7f"},
	} {
		got := answer(func(c echo.Context) error { return b.send(c, http.StatusCreated) })
		want := answer(func(c echo.Context) error { return c.JSON(http.StatusCreated, b) })
		if got.Code != want.Code || got.Body.String() != want.Body.String() ||
			got.Header().Get(echo.HeaderContentType) != want.Header().Get(echo.HeaderContentType) {
			t.Errorf("send(%+v) = %d %q %q, c.JSON gives %d %q %q", b,
				got.Code, got.Header().Get(echo.HeaderContentType), got.Body,
				want.Code, want.Header().Get(echo.HeaderContentType), want.Body)
		}
	}
}
