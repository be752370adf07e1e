package account_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/home"
)

// TestRefreshRaceTwoStores: two Stores on one home and keychain (as the GUI
// and the CLI have) refresh one account at the same moment, several times,
// against a provider that rotates refresh tokens and revokes the sign-in
// when a rotated-away one comes back. Both always get access tokens and the
// user stays signed in.
func TestRefreshRaceTwoStores(t *testing.T) {
	f := newFixture(t)
	h := testHome(t)
	f.store = account.NewStore(h, f.kc)
	acct := f.add(t, oauthAccount("m365", f.idp.URL))
	f.idp.DetectReuse(true)
	f.idp.SetAccessTTL(5 * time.Second) // stale at once: every Token refreshes
	f.idp.SetRefreshDelay(50 * time.Millisecond)
	other := account.NewStore(h, f.kc)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for _, s := range []*account.Store{f.store, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := s.Get(acct.Name)
			if err != nil {
				errs <- err
				return
			}
			for range 4 {
				ts, err := a.TokenSource(context.Background(), s.Secrets())
				if err != nil {
					errs <- err
					return
				}
				if _, err := ts.Token(); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if f.idp.Reuses() != 0 || !f.idp.SignedIn() || f.idp.Refreshes() != 8 {
		t.Errorf("reuses %d, signed in %t, refreshes %d; want 0, true, 8", f.idp.Reuses(), f.idp.SignedIn(), f.idp.Refreshes())
	}
}

// TestRefreshRaceTwoProcesses: the same with two real processes (this test
// binary run again as TestHelperRefresh).
func TestRefreshRaceTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	f := newFixture(t)
	h := testHome(t)
	f.store = account.NewStore(h, f.kc)
	acct := f.add(t, oauthAccount("m365", f.idp.URL))
	f.idp.DetectReuse(true)
	f.idp.SetAccessTTL(5 * time.Second)
	f.idp.SetRefreshDelay(50 * time.Millisecond)
	var procs []*exec.Cmd
	var outs []*strings.Builder
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRefresh$", "-test.count=1")
		out := new(strings.Builder)
		cmd.Stdout, cmd.Stderr = out, out
		cmd.Env = append(os.Environ(), "SECURESEND_HELPER_REFRESH="+h.Dir, "SECURESEND_HELPER_SERVICE="+f.kc.(*keychain.Keychain).Service(), "SECURESEND_HELPER_ACCOUNT="+acct.Name)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs, outs = append(procs, cmd), append(outs, out)
	}
	for i, cmd := range procs {
		if err := cmd.Wait(); err != nil {
			t.Errorf("process %d: %v\n%s", i, err, outs[i])
		}
	}
	if f.idp.Reuses() != 0 || !f.idp.SignedIn() || f.idp.Refreshes() != 8 {
		t.Errorf("reuses %d, signed in %t, refreshes %d; want 0, true, 8", f.idp.Reuses(), f.idp.SignedIn(), f.idp.Refreshes())
	}
}

// TestHelperRefresh is not a test: run by TestRefreshRaceTwoProcesses, it
// refreshes the account four times as a separate process.
func TestHelperRefresh(t *testing.T) {
	dir := os.Getenv("SECURESEND_HELPER_REFRESH")
	if dir == "" {
		t.Skip("helper process only")
	}
	s := account.NewStore(home.Home{Dir: dir}, keychain.New(os.Getenv("SECURESEND_HELPER_SERVICE")))
	a, err := s.Get(os.Getenv("SECURESEND_HELPER_ACCOUNT"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		ts, err := a.TokenSource(context.Background(), s.Secrets())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Token(); err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
	}
}

// TestSignInWrongUser: signing in at the provider as someone else fails
// with both names and keeps the earlier sign-in; no refresh token of the
// other user reaches the keychain.
func TestSignInWrongUser(t *testing.T) {
	for _, first := range []bool{false, true} {
		t.Run(fmt.Sprintf("signed in before %t", first), func(t *testing.T) {
			f := newFixture(t)
			a := oauthAccount("m365", f.idp.URL)
			if err := f.store.Add(a, account.Credentials{}); err != nil {
				t.Fatal(err)
			}
			key := "account/m365/oauth-refresh-token"
			var before string
			if first {
				if err := f.store.SignIn(context.Background(), a.Name, oauth.LoginOptions{OpenBrowser: f.idp.Browser()}); err != nil {
					t.Fatal(err)
				}
				before, _ = f.kc.Get(key)
			}
			f.idp.SignInAs("mallory@example.test")
			// A caller's own Identities cannot widen the check.
			err := f.store.SignIn(context.Background(), a.Name, oauth.LoginOptions{OpenBrowser: f.idp.Browser(), Identities: []string{"mallory@example.test"}})
			if !errors.Is(err, oauth.ErrWrongUser) {
				t.Fatalf("SignIn as another user = %v, want ErrWrongUser", err)
			}
			if !strings.Contains(err.Error(), "you signed in as mallory@example.test, but the account is "+user) {
				t.Errorf("error does not name both users: %v", err)
			}
			mustNotLeak(t, err.Error(), f.secrets()...)
			after, gerr := f.kc.Get(key)
			switch {
			case !first && !errors.Is(gerr, keychain.ErrNotFound):
				t.Errorf("a refresh token was stored: %v", gerr)
			case first && after != before:
				t.Errorf("the earlier sign-in was replaced")
			}
		})
	}
}
