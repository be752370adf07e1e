package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/account/oauth/oauthtest"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/home"
)

// TestAccountLoginTimeoutCLI: 'account login' whose browser never comes
// back stops after --timeout with a message saying so, stores nothing, and
// the account still asks for a sign-in.
func TestAccountLoginTimeoutCLI(t *testing.T) {
	requireKeychain(t)
	const user = "clinic@example.test"
	idp := oauthtest.New(user)
	defer idp.Close()
	ae := newAcctEnv(t)
	_, errOut, code := ae.run(t, "", "account", "add", "--name", "m365", "--email", user, "--login=false",
		"--smtp", "smtp.example.test:465", "--smtp-security", "tls", "--auth", "oauth", "--client-id", oauthtest.ClientID,
		"--auth-url", idp.AuthURL, "--token-url", idp.TokenURL, "--scopes", "mail offline_access")
	if code != 0 {
		t.Fatalf("account add: exit %d: %s", code, errOut)
	}
	defer ae.run(t, "", "account", "remove", "m365")
	ae.vars["BROWSER"] = "true" // opens nothing; the user never signs in
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--timeout", "0s", "m365"}, 1, "--timeout must be positive"},
		{[]string{"--timeout", "300ms", "m365"}, 1, "no sign-in came back from the browser within 300ms, so the sign-in was stopped and nothing was stored; run 'securesend account login m365' to try again"},
	} {
		begun := time.Now()
		out, errOut, code := ae.run(t, "", append([]string{"account", "login"}, tt.args...)...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("account login %v: exit %d\nstdout %s\nstderr %s\nwant %q", tt.args, code, out, errOut, tt.want)
		}
		if d := time.Since(begun); d > 5*time.Second {
			t.Errorf("account login %v took %v", tt.args, d)
		}
		if strings.Contains(errOut, "state=") || strings.Contains(errOut, "code_challenge") {
			t.Errorf("the sign-in URL's secrets are printed: %s", errOut)
		}
	}
	kc := keychain.New(must(home.Resolve(func(k string) string { return ae.vars[k] })).KeychainService())
	if _, err := kc.Get("account/m365/oauth-refresh-token"); !errors.Is(err, keychain.ErrNotFound) {
		t.Errorf("after the timeout the keychain holds a sign-in: %v", err)
	}
}
