// Package xoauth2 implements the client side of the XOAUTH2 SASL mechanism
// used by Microsoft 365 and Google for SMTP and IMAP with OAuth 2.0 access
// tokens, and a matching server for tests and the demo mail system.
//
// XOAUTH2 is not an RFC; it is specified by Google
// (https://developers.google.com/gmail/imap/xoauth2-protocol) and Microsoft.
// The initial response is "user=" user "\x01auth=Bearer " token "\x01\x01".
// When the token is refused the server sends a JSON error as a challenge,
// to which the client must answer with an empty response; the server then
// fails the exchange. OAUTHBEARER (RFC 7628) is the standard successor and is
// provided by github.com/emersion/go-sasl.
//
// The access token is a secret: it is never part of an error message.
package xoauth2

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"
)

// Mechanism is the SASL mechanism name.
const Mechanism = "XOAUTH2"

// Error is the server's JSON error challenge (status, schemes and scope),
// kept so that callers can tell an expired token from other failures.
type Error struct {
	Status  string `json:"status"`
	Schemes string `json:"schemes"`
	Scope   string `json:"scope"`
}

// Error describes the server's refusal. It never includes the token.
func (e *Error) Error() string {
	return fmt.Sprintf("xoauth2: the server refused the access token (status %q)", e.Status)
}

type client struct {
	user, token string
	// err is the server's error challenge, once one was received.
	err *Error
}

// NewClient returns a SASL client that authenticates user with the OAuth 2.0
// access token.
func NewClient(user, token string) sasl.Client {
	return &client{user: user, token: token}
}

// Start returns the initial response.
func (c *client) Start() (string, []byte, error) {
	if strings.ContainsAny(c.user, "\x01") || strings.ContainsAny(c.token, "\x01") {
		return "", nil, errors.New("xoauth2: user name or token contains a control character")
	}
	return Mechanism, []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

// Next answers the server's error challenge with the empty response the
// protocol requires; the server then fails the exchange with its own reply.
// A second challenge is a protocol error.
func (c *client) Next(challenge []byte) ([]byte, error) {
	if c.err != nil {
		return nil, c.err
	}
	e := &Error{}
	if err := json.Unmarshal(challenge, e); err != nil {
		e.Status = "unreadable error challenge"
	}
	c.err = e
	return []byte{}, nil
}

// Authenticator checks a user name and access token on the server side.
type Authenticator func(user, token string) error

type server struct {
	auth   Authenticator
	failed bool
}

// NewServer returns a SASL server for XOAUTH2. When auth fails, the server
// sends the JSON error challenge (with status "401") and fails the exchange
// after the client's empty response, as Google and Microsoft do.
func NewServer(auth Authenticator) sasl.Server {
	return &server{auth: auth}
}

// Next implements sasl.Server.
func (s *server) Next(response []byte) ([]byte, bool, error) {
	if s.failed {
		return nil, true, errors.New("xoauth2: authentication failed")
	}
	if response == nil {
		return []byte{}, false, nil
	}
	user, token, err := parse(string(response))
	if err != nil {
		return nil, true, err
	}
	if err := s.auth(user, token); err != nil {
		s.failed = true
		challenge, _ := json.Marshal(Error{Status: "401", Schemes: "bearer", Scope: ""})
		return challenge, false, nil
	}
	return nil, true, nil
}

// parse splits an XOAUTH2 initial response into user and token.
func parse(s string) (user, token string, err error) {
	if !strings.HasSuffix(s, "\x01\x01") {
		return "", "", errors.New("xoauth2: malformed response")
	}
	for _, f := range strings.Split(strings.TrimSuffix(s, "\x01\x01"), "\x01") {
		switch {
		case strings.HasPrefix(f, "user="):
			user = strings.TrimPrefix(f, "user=")
		case strings.HasPrefix(f, "auth="):
			v := strings.TrimPrefix(f, "auth=")
			if len(v) < 7 || !strings.EqualFold(v[:7], "Bearer ") {
				return "", "", errors.New("xoauth2: unsupported token type")
			}
			token = v[7:]
		}
	}
	if user == "" || token == "" {
		return "", "", errors.New("xoauth2: malformed response")
	}
	return user, token, nil
}
