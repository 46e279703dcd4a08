package peer

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestAnswerBlobStatesLength checks over a real connection that an answer
// far over net/http's chunking threshold arrives with its length, so that
// readAnswer takes the one-buffer path.
func TestAnswerBlobStatesLength(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 300<<10)
	e := echo.New()
	e.GET("/", func(c echo.Context) error { return answerBlob(c, MediaFetch, body) })
	srv := httptest.NewServer(e)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != int64(len(body)) {
		t.Fatalf("Content-Length %d, want %d (transfer encoding %v)", resp.ContentLength, len(body), resp.TransferEncoding)
	}
	got, err := readAnswer(resp, int64(len(body)))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("readAnswer: %d bytes, %v", len(got), err)
	}
}

// TestReadAnswer reads bodies with and without a stated length, within and
// over the limit, and a body shorter than its stated length.
func TestReadAnswer(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		length  int64
		limit   int64
		want    string
		badAns  bool // the error must wrap ErrBadAnswer
		anyFail bool // some error
	}{
		{name: "stated", body: "hello", length: 5, limit: 10, want: "hello"},
		{name: "stated empty", body: "", length: 0, limit: 10, want: ""},
		{name: "stated at the limit", body: "0123456789", length: 10, limit: 10, want: "0123456789"},
		{name: "stated over the limit", body: "0123456789x", length: 11, limit: 10, badAns: true},
		{name: "unstated", body: "hello", length: -1, limit: 10, want: "hello"},
		{name: "unstated over the limit", body: "0123456789x", length: -1, limit: 10, badAns: true},
		{name: "shorter than stated", body: "hel", length: 5, limit: 10, anyFail: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := &http.Response{ContentLength: c.length, Body: io.NopCloser(strings.NewReader(c.body))}
			b, err := readAnswer(resp, c.limit)
			switch {
			case c.badAns && !errors.Is(err, ErrBadAnswer):
				t.Fatalf("got %q, %v; want an error wrapping ErrBadAnswer", b, err)
			case c.anyFail && err == nil:
				t.Fatalf("got %q and no error", b)
			case !c.badAns && !c.anyFail && (err != nil || string(b) != c.want):
				t.Fatalf("got %q, %v; want %q", b, err, c.want)
			}
		})
	}
}
