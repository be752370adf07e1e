package desk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/send"
)

// TestViaOptions: the command line's settings make the Via of an account
// or of a server given by hand; a setting out of range is an error that
// names its flag; the password is read once, and only when asked for.
func TestViaOptions(t *testing.T) {
	reads := 0
	pw := func() (string, error) { reads++; return "secret", nil }
	for _, c := range []struct {
		name    string
		o       ViaOptions
		wantErr string
		check   func(t *testing.T, v Via)
	}{
		{"account", ViaOptions{Account: "clinic", MinTLS: "1.3", RequireTLS: true, Timeout: time.Minute}, "", func(t *testing.T, v Via) {
			if v.Account != "clinic" || v.Server != nil || v.Tighten.MinTLS != "1.3" || !v.Tighten.RequireREQUIRETLS || v.Timeout != time.Minute {
				t.Errorf("Via %+v", v)
			}
		}},
		{"server, starttls", ViaOptions{Server: "smtp.example.org:587", Security: "starttls", User: "a", CAFile: "ca.pem", Password: pw, Timeout: time.Second}, "", func(t *testing.T, v Via) {
			s := v.Server
			if s == nil || s.Address != "smtp.example.org:587" || s.Security != send.StartTLS || s.User != "a" || s.CAFile != "ca.pem" || s.Password == nil {
				t.Fatalf("Server %+v", s)
			}
			if reads != 0 {
				t.Errorf("password read %d times before it was needed", reads)
			}
			for range 2 {
				if got, err := s.Password(); got != "secret" || err != nil {
					t.Errorf("Password() = %q, %v", got, err)
				}
			}
			if reads != 1 {
				t.Errorf("password read %d times, want once", reads)
			}
		}},
		{"server, default security, no sign-in", ViaOptions{Server: "smtp.example.org:465", Timeout: time.Second}, "", func(t *testing.T, v Via) {
			if v.Server == nil || v.Server.Security != send.ImplicitTLS || v.Server.Password != nil {
				t.Errorf("Server %+v", v.Server)
			}
		}},
		{"bad security", ViaOptions{Server: "h:1", Security: "ssl", Timeout: time.Second}, `--security must be tls or starttls, not "ssl"`, nil},
		{"bad min-tls", ViaOptions{Account: "clinic", MinTLS: "1.1", Timeout: time.Second}, `--min-tls must be 1.2 or 1.3, not "1.1"`, nil},
		{"no timeout", ViaOptions{Account: "clinic"}, "--timeout must be positive", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := c.o.Via()
			if c.wantErr != "" {
				if err == nil || err.Error() != c.wantErr {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, v)
		})
	}
}

// TestWriteReceipt: a receipt is written (user-only) when a recipient
// accepted the message and nothing but a rejected recipient went wrong;
// otherwise none is written and no file appears.
func TestWriteReceipt(t *testing.T) {
	ok := &send.Result{Accepted: []send.RecipientResult{{Address: "pharmacy@example.org"}}, MessageID: "m@example.org"}
	for _, c := range []struct {
		name    string
		res     *send.Result
		sendErr error
		want    bool
	}{
		{"sent", ok, nil, true},
		{"some rejected", ok, fmt.Errorf("wrapped: %w", send.ErrRecipientsRejected), true},
		{"no result", nil, nil, false},
		{"none accepted", &send.Result{}, nil, false},
		{"failed otherwise", ok, send.ErrTemporary, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "receipt.json")
			wrote, err := WriteReceipt(path, c.res, c.sendErr)
			if err != nil || wrote != c.want {
				t.Fatalf("WriteReceipt = %v, %v; want %v", wrote, err, c.want)
			}
			fi, err := os.Stat(path)
			if !c.want {
				if !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a receipt was written: %v", err)
				}
				return
			}
			raw, _ := os.ReadFile(path)
			if err != nil || fi.Mode().Perm()&0o077 != 0 || !strings.Contains(string(raw), "m@example.org") {
				t.Errorf("receipt %v %v:\n%s", fi.Mode(), err, raw)
			}
		})
	}
}
