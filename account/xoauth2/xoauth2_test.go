package xoauth2

import (
	"errors"
	"strings"
	"testing"
)

// run drives a client against a server the way SMTP and IMAP do.
func run(t *testing.T, user, token string, auth Authenticator) error {
	t.Helper()
	c := NewClient(user, token)
	s := NewServer(auth)
	mech, ir, err := c.Start()
	if err != nil {
		return err
	}
	if mech != Mechanism {
		t.Fatalf("mechanism %q", mech)
	}
	resp := ir
	for range 4 {
		challenge, done, err := s.Next(resp)
		if err != nil || done {
			return err
		}
		resp, err = c.Next(challenge)
		if err != nil {
			return err
		}
		if resp == nil || len(resp) != 0 {
			t.Fatalf("client answered an error challenge with %q, want an empty response", resp)
		}
	}
	t.Fatal("exchange did not finish")
	return nil
}

func TestExchange(t *testing.T) {
	good := func(user, token string) error {
		if user != "bob@example.test" || token != "good-token" {
			return errors.New("no")
		}
		return nil
	}
	tests := []struct {
		name, user, token string
		ok                bool
	}{
		{"accepted", "bob@example.test", "good-token", true},
		{"wrong token", "bob@example.test", "bad-token", false},
		{"wrong user", "eve@example.test", "good-token", false},
		{"control character", "bob@example.test\x01", "good-token", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(t, tt.user, tt.token, good)
			if (err == nil) != tt.ok {
				t.Fatalf("exchange = %v, want ok=%t", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestInitialResponse(t *testing.T) {
	_, ir, err := NewClient("u@example.test", "tok").Start()
	if err != nil {
		t.Fatal(err)
	}
	if want := "user=u@example.test\x01auth=Bearer tok\x01\x01"; string(ir) != want {
		t.Errorf("initial response %q, want %q", ir, want)
	}
}
