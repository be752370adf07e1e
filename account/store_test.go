package account_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/keychain"
)

func passwordAccount(name string) account.Account {
	return account.Account{
		Name:  name,
		Email: "clinic@example.test",
		SMTP:  account.Server{Address: "smtp.example.test:465", Security: account.ImplicitTLS},
		IMAP:  account.Server{Address: "imap.example.test:993", Security: account.ImplicitTLS},
		Auth:  account.AuthPassword,
	}
}

func TestStoreLifecycle(t *testing.T) {
	kc := testKeychain(t)
	h := testHome(t)
	s := account.NewStore(h, kc)
	const pw = "correct horse battery staple 7"

	a := passwordAccount("clinic")
	if err := s.Add(a, account.Credentials{Password: pw}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := s.Add(a, account.Credentials{Password: pw}); !errors.Is(err, account.ErrExists) {
		t.Fatalf("second Add = %v, want ErrExists", err)
	}
	m := oauthAccount("m365", "http://127.0.0.1:1")
	if err := s.Add(m, account.Credentials{}); err != nil {
		t.Fatalf("Add oauth: %v", err)
	}
	list, err := s.List()
	if err != nil || len(list) != 2 || list[0].Name != "clinic" || list[1].Name != "m365" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	got, err := s.Get("clinic")
	if err != nil || got.SMTP != a.SMTP || got.Auth != account.AuthPassword {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := s.Get("nobody"); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("Get(nobody) = %v, want ErrNotFound", err)
	}
	if v, err := kc.Get("account/clinic/password"); err != nil || v != pw {
		t.Fatalf("the password is not in the keychain: %v", err)
	}
	fi, err := os.Stat(h.Path(account.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("accounts.json mode %v, want 0600", fi.Mode().Perm())
	}
	assertNoSecretInFiles(t, h.Dir, pw)

	if err := s.Remove("clinic"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := kc.Get("account/clinic/password"); !errors.Is(err, keychain.ErrNotFound) {
		t.Errorf("after Remove the password is still in the keychain (err=%v)", err)
	}
	if _, err := s.Get("clinic"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("after Remove Get = %v, want ErrNotFound", err)
	}
	if err := s.Remove("clinic"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("second Remove = %v, want ErrNotFound", err)
	}
}

func TestAddValidates(t *testing.T) {
	kc := testKeychain(t)
	s := account.NewStore(testHome(t), kc)
	bad := map[string]func(a *account.Account){
		"bad name":          func(a *account.Account) { a.Name = "../x" },
		"bad email":         func(a *account.Account) { a.Email = "not an address" },
		"no port":           func(a *account.Account) { a.SMTP.Address = "smtp.example.test" },
		"plaintext":         func(a *account.Account) { a.SMTP.Security = "none" },
		"unknown auth":      func(a *account.Account) { a.Auth = "kerberos" },
		"oauth no client":   func(a *account.Account) { a.Auth = account.AuthMicrosoft },
		"custom no issuer":  func(a *account.Account) { a.Auth = account.AuthOAuth; a.OAuth = &account.OAuthSettings{ClientID: "x"} },
		"custom plain http": func(a *account.Account) { *a = oauthAccount(a.Name, "http://idp.example.test") },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			a := passwordAccount("acct")
			mutate(&a)
			if err := s.Add(a, account.Credentials{Password: "pw"}); err == nil {
				t.Fatal("Add accepted an invalid account")
			}
		})
	}
	if err := s.Add(passwordAccount("nopw"), account.Credentials{}); err == nil {
		t.Error("a password account without a password was accepted")
	}
}

// TestNoPlaintextFallback: with the keychain unavailable, nothing is stored
// anywhere and the error says so.
func TestNoPlaintextFallback(t *testing.T) {
	h := testHome(t)
	s := account.NewStore(h, deadKeychain{})
	const pw = "s3cret-never-on-disk"
	err := s.Add(passwordAccount("clinic"), account.Credentials{Password: pw})
	if !errors.Is(err, keychain.ErrUnavailable) {
		t.Fatalf("Add = %v, want ErrUnavailable", err)
	}
	mustNotLeak(t, err.Error(), pw)
	if err := s.Add(oauthAccount("m365", "http://127.0.0.1:1"), account.Credentials{}); !errors.Is(err, keychain.ErrUnavailable) {
		t.Fatalf("Add oauth = %v, want ErrUnavailable", err)
	}
	if _, err := os.Stat(h.Path(account.FileName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("accounts.json was written although the keychain is unavailable")
	}
	assertNoSecretInFiles(t, h.Dir, pw)
}

// TestRemoveKeepsAccountWhenKeychainLocked: the settings are only removed
// once the secrets are.
func TestRemoveKeepsAccountWhenKeychainLocked(t *testing.T) {
	kc := testKeychain(t)
	h := testHome(t)
	if err := account.NewStore(h, kc).Add(passwordAccount("clinic"), account.Credentials{Password: "pw-1"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { account.NewStore(h, kc).Remove("clinic") })
	if err := account.NewStore(h, deadKeychain{}).Remove("clinic"); !errors.Is(err, keychain.ErrUnavailable) {
		t.Fatalf("Remove = %v, want ErrUnavailable", err)
	}
	if _, err := account.NewStore(h, kc).Get("clinic"); err != nil {
		t.Fatalf("the account was dropped although its secrets were not: %v", err)
	}
}

// TestRealKeychainUnreachable runs the real keychain with no D-Bus session
// in a child process: Add must fail plainly and write nothing.
func TestRealKeychainUnreachable(t *testing.T) {
	if os.Getenv("ACCOUNT_TEST_CHILD") == "1" {
		h := testHome(t)
		s := account.NewStore(h, keychain.New("securesend-test:unreachable"))
		err := s.Add(passwordAccount("clinic"), account.Credentials{Password: "child-secret"})
		if !errors.Is(err, keychain.ErrUnavailable) {
			t.Fatalf("Add = %v, want ErrUnavailable", err)
		}
		if !strings.Contains(err.Error(), "keychain is not available or is locked") {
			t.Errorf("error does not say the keychain is unavailable: %v", err)
		}
		if _, err := os.Stat(h.Path(account.FileName)); err == nil {
			t.Error("accounts.json written without a keychain")
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRealKeychainUnreachable$", "-test.v")
	cmd.Env = append(os.Environ(),
		"ACCOUNT_TEST_CHILD=1",
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(t.TempDir(), "no-bus"),
	)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestRealKeychainUnreachable") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// assertNoSecretInFiles reads every file under dir and fails if any holds
// one of secrets.
func assertNoSecretInFiles(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(string(data), s) {
				t.Errorf("%s contains a secret", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
