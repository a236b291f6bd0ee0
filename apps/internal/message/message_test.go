package message

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	in := New(json.RawMessage(`{"amount":12.5}`), now)
	body, err := in.Encode()
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(body)
	if err != nil {
		t.Fatalf("Decode(%s): %v", body, err)
	}
	if out.ID != in.ID || string(out.Msg) != string(in.Msg) || !out.SrcStamp.Equal(now) {
		t.Fatalf("round trip: got %+v, want %+v", out, in)
	}
	rec := Record{Message: out, DestStamp: now.Add(1500 * time.Millisecond)}
	if got := rec.Latency(); got != 1500*time.Millisecond {
		t.Fatalf("Latency = %v, want 1.5s", got)
	}
}

func TestDecodeRejects(t *testing.T) {
	for name, tc := range map[string]struct{ body, want string }{
		"not json":      {`{"id": nope`, "invalid character"},
		"trailing data": {`{"id":"a","msg":1,"srcStamp":"2026-01-01T00:00:00Z"} x`, "trailing data"},
		"missing id":    {`{"msg":1,"srcStamp":"2026-01-01T00:00:00Z"}`, `id ""`},
		"slash in id":   {`{"id":"a/b","msg":1,"srcStamp":"2026-01-01T00:00:00Z"}`, `id "a/b"`},
		"id too long":   {`{"id":"` + strings.Repeat("a", 129) + `","msg":1,"srcStamp":"2026-01-01T00:00:00Z"}`, "1-128"},
		"missing msg":   {`{"id":"a","srcStamp":"2026-01-01T00:00:00Z"}`, "msg is missing"},
		"null msg":      {`{"id":"a","msg":null,"srcStamp":"2026-01-01T00:00:00Z"}`, "msg is missing"},
		"missing stamp": {`{"id":"a","msg":1}`, "srcStamp is missing"},
		"bad stamp":     {`{"id":"a","msg":1,"srcStamp":"yesterday"}`, "cannot parse"},
		"array not obj": {`[1,2]`, "cannot unmarshal"},
		"empty body":    {``, "EOF"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decode([]byte(tc.body))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode(%q) = %v, want ErrMalformed", tc.body, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode(%q) = %q, want it to mention %q", tc.body, err, tc.want)
			}
		})
	}
}
