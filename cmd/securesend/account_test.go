package main

import (
	"bytes"
	"context"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/keychain/keychaintest"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/account/oauth/oauthtest"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/home"
)

// acctEnv is a CLI environment with its own securesend home.
type acctEnv struct {
	vars map[string]string
}

func newAcctEnv(t *testing.T) *acctEnv {
	t.Helper()
	return &acctEnv{vars: map[string]string{home.EnvVar: t.TempDir()}}
}

func (a *acctEnv) run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return a.vars[k] }}
	code = run(context.Background(), e, args)
	return out.String(), errb.String(), code
}

func requireKeychain(t *testing.T) { keychaintest.Require(t) }

// TestAccountLifecycleCLI adds a password account and an OAuth account as
// a user would, tests both against real servers, removes them, and then
// searches every file the app wrote, and all output, for the secrets.
func TestAccountLifecycleCLI(t *testing.T) {
	requireKeychain(t)
	const user = "clinic@example.test"
	const pw = "pa55-Word-for-lifecycle"
	idp := oauthtest.New(user)
	defer idp.Close()
	pki := accounttest.NewPKI(t)
	creds := accounttest.Credentials{User: user, Password: pw, OAuth: idp}
	smtpSrv := accounttest.StartSMTP(t, pki, creds, accounttest.Options{StartTLS: true, RequireTLS: true})
	imapSrv := accounttest.StartIMAP(t, pki, creds, accounttest.Options{})
	smtpXO := accounttest.StartSMTP(t, pki, creds, accounttest.Options{Mechanisms: []string{"XOAUTH2"}})

	ae := newAcctEnv(t)
	var transcript strings.Builder
	step := func(stdin string, wantCode int, args ...string) string {
		t.Helper()
		out, errOut, code := ae.run(t, stdin, args...)
		transcript.WriteString(out + errOut)
		if code != wantCode {
			t.Fatalf("securesend %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, out, errOut)
		}
		return out + errOut
	}

	step(pw+"\n", 0, "account", "add", "--name", "clinic", "--email", user,
		"--smtp", smtpSrv.Addr, "--smtp-security", "starttls", "--imap", imapSrv.Addr, "--imap-security", "tls",
		"--ca-file", pki.CAFile, "--auth", "password", "--password-stdin")
	step("", 1, "account", "add", "--name", "nopw", "--email", user, "--smtp", smtpSrv.Addr, "--auth", "password")
	out := step("", 0, "account", "add", "--name", "m365", "--email", user,
		"--smtp", smtpXO.Addr, "--smtp-security", "tls", "--imap", imapSrv.Addr, "--imap-security", "tls",
		"--ca-file", pki.CAFile, "--auth", "oauth", "--client-id", oauthtest.ClientID,
		"--auth-url", idp.AuthURL, "--token-url", idp.TokenURL, "--scopes", "mail offline_access")
	if !strings.Contains(out, "account login m365") {
		t.Errorf("OAuth add does not say how to sign in: %s", out)
	}
	out = step("", 1, "account", "test", "m365")
	if !strings.Contains(out, "sign in again") {
		t.Errorf("test before sign-in does not ask to sign in: %s", out)
	}

	// The "browser" is this test binary, started through $BROWSER.
	ae.vars["BROWSER"] = os.Args[0] + " -test.run=^TestHelperBrowser$ --"
	t.Setenv("SECURESEND_HELPER_BROWSER", "1")
	step("", 0, "account", "login", "m365")

	out = step("", 0, "account", "list")
	if !strings.Contains(out, "clinic") || !strings.Contains(out, "m365") {
		t.Errorf("list: %s", out)
	}
	out = step("", 0, "account", "test", "clinic")
	for _, want := range []string{"TLS 1.3", "REQUIRETLS: yes", "IDLE:       yes", "Signed in:  yes (PLAIN)", "No mail was sent"} {
		if !strings.Contains(out, want) {
			t.Errorf("account test clinic lacks %q:\n%s", want, out)
		}
	}
	out = step("", 0, "account", "test", "m365")
	if !strings.Contains(out, "Signed in:  yes (XOAUTH2)") || !strings.Contains(out, "Signed in:  yes (OAUTHBEARER)") {
		t.Errorf("account test m365:\n%s", out)
	}

	// The hook for 'send --account'.
	d, err := openDesk(&env{getenv: func(k string) string { return ae.vars[k] }})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Accounts()
	a, err := s.Get("m365")
	if err != nil {
		t.Fatalf("stored account: %v", err)
	}
	opts, err := a.SendOptions(context.Background(), s.Secrets())
	if err != nil || a.Email != user || opts.Server != smtpXO.Addr || opts.Auth == nil {
		t.Fatalf("stored account = %+v, SendOptions = %+v, %v", a, opts, err)
	}

	// Replace the password: a wrong one is refused by the server, the
	// right one works again.
	const wrongPW = "not-the-password-42"
	step(wrongPW+"\n", 0, "account", "password", "clinic", "--password-stdin")
	out = step("", 1, "account", "test", "clinic")
	if !strings.Contains(out, "rejected the sign-in") {
		t.Errorf("test with a wrong password:\n%s", out)
	}
	step(pw+"\n", 0, "account", "password", "clinic", "--password-stdin")
	step("", 0, "account", "test", "clinic")
	step("x\n", 1, "account", "password", "m365", "--password-stdin")

	step("", 0, "account", "remove", "clinic")
	step("", 0, "account", "remove", "m365")
	step("", 1, "account", "remove", "m365")
	out = step("", 0, "account", "list")
	if !strings.Contains(out, "No accounts") {
		t.Errorf("after remove: %s", out)
	}
	kc := keychain.New(must(home.Resolve(func(k string) string { return ae.vars[k] })).KeychainService())
	for _, k := range []string{"account/clinic/password", "account/m365/oauth-refresh-token"} {
		if _, err := kc.Get(k); err == nil {
			t.Errorf("keychain entry %s survived account remove", k)
		}
	}

	logData, err := os.ReadFile(filepath.Join(ae.vars[home.EnvVar], "audit.log"))
	if err != nil || strings.Count(string(logData), `"kind":"account.change"`) != 7 {
		t.Errorf("audit log: want 7 account changes (2 add, sign-in, 2 password, 2 remove): %v\n%s", err, logData)
	}

	secrets := append(idp.Issued(), pw, wrongPW)
	for _, s := range secrets {
		if strings.Contains(transcript.String(), s) {
			t.Errorf("a secret appears in the command output")
		}
	}
	filepath.WalkDir(ae.vars[home.EnvVar], func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s contains a secret", p)
			}
		}
		return nil
	})
}

// TestHelperBrowser is not a test: started as $BROWSER by
// TestAccountLifecycleCLI, it plays the user's browser for the URL in its
// last argument.
func TestHelperBrowser(t *testing.T) {
	if os.Getenv("SECURESEND_HELPER_BROWSER") != "1" {
		t.Skip("helper process")
	}
	u := os.Args[len(os.Args)-1]
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestAccountKeychainUnavailableCLI(t *testing.T) {
	if os.Getenv("SECURESEND_CHILD_NOKEYCHAIN") == "1" {
		ae := newAcctEnv(t)
		out, errOut, code := ae.run(t, "child-pw\n", "account", "add", "--name", "x", "--email", "x@example.test",
			"--smtp", "smtp.example.test:465", "--password-stdin")
		if code != 1 || !strings.Contains(errOut, "keychain is not available or is locked") || strings.Contains(out+errOut, "child-pw") {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
		}
		if _, err := os.Stat(filepath.Join(ae.vars[home.EnvVar], "accounts.json")); err == nil {
			t.Fatal("accounts.json written without a keychain")
		}
		// The inbox needs its at-rest key: it stops and says why.
		_, errOut, code = ae.run(t, "", "inbox", "list")
		if code != 1 || !strings.Contains(errOut, "keychain is not available or is locked") {
			t.Fatalf("inbox list without keychain: exit %d, %s", code, errOut)
		}
		if _, err := os.Stat(filepath.Join(ae.vars[home.EnvVar], "inbox")); err == nil {
			t.Fatal("inbox directory created without a keychain")
		}
		return
	}
	cmd := execSelf(t, "^TestAccountKeychainUnavailableCLI$", "SECURESEND_CHILD_NOKEYCHAIN=1",
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func execSelf(t *testing.T, run string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.v")
	cmd.Env = append(os.Environ(), env...)
	return cmd
}
