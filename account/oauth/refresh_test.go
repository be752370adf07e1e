package oauth_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/account/oauth/oauthtest"
	"github.com/securesend/securesend/internal/filelock"
)

// lockedStore is one process's view of a shared refresh token: the token in
// a shared memStore (the keychain) and a lock file that every view opens
// itself, as separate processes do.
type lockedStore struct {
	*memStore
	lockPath string
}

func (l lockedStore) LockRefresh(ctx context.Context) (func(), error) {
	return filelock.Path(l.lockPath)
}

// signedIn signs alice in at s and returns the store holding her refresh
// token.
func signedIn(t *testing.T, s *oauthtest.Server) *memStore {
	t.Helper()
	tok, err := oauth.Login(context.Background(), testConfig(s), oauth.LoginOptions{OpenBrowser: s.Browser()})
	if err != nil {
		t.Fatal(err)
	}
	return &memStore{rt: tok.RefreshToken}
}

// TestTokenSourceRefreshRace: two Sources (two processes) refresh one
// account at the same moment against a provider that rotates refresh
// tokens and revokes the sign-in when a rotated-away one is used again.
// With the refresh lock both get access tokens and the user stays signed
// in; without it (the second case) the provider sees the reuse.
func TestTokenSourceRefreshRace(t *testing.T) {
	for _, locked := range []bool{true, false} {
		name := map[bool]string{true: "locked", false: "without the lock the sign-in is revoked"}[locked]
		t.Run(name, func(t *testing.T) {
			s := oauthtest.New("alice@example.test")
			defer s.Close()
			shared := signedIn(t, s)
			s.DetectReuse(true)
			s.SetRefreshDelay(100 * time.Millisecond) // both requests in flight at once
			lockPath := filepath.Join(t.TempDir(), "refresh.lock")
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				var store oauth.RefreshStore = shared
				if locked {
					store = lockedStore{memStore: shared, lockPath: lockPath}
				}
				ts, err := oauth.TokenSource(context.Background(), testConfig(s), store, nil)
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = ts.Token()
				}()
			}
			wg.Wait()
			if !locked {
				if s.Reuses() == 0 || s.SignedIn() {
					t.Fatalf("the unlocked race did not happen (reuses %d, signed in %t): the test proves nothing", s.Reuses(), s.SignedIn())
				}
				return
			}
			for i, err := range errs {
				if err != nil {
					t.Errorf("process %d: %v", i, err)
				}
			}
			if s.Reuses() != 0 || !s.SignedIn() || s.Refreshes() != 2 {
				t.Errorf("reuses %d, signed in %t, refreshes %d; want 0, true, 2", s.Reuses(), s.SignedIn(), s.Refreshes())
			}
			// The keychain holds the newest refresh token, which works.
			ts, _ := oauth.TokenSource(context.Background(), testConfig(s), shared, nil)
			if _, err := ts.Token(); err != nil {
				t.Errorf("after the race: %v", err)
			}
		})
	}
}

// raceStore lets another process rotate the refresh token right after this
// one loaded it, as a process without the lock (an older securesend) can.
type raceStore struct {
	*memStore
	once  sync.Once
	other func()
}

func (r *raceStore) Load() (string, error) {
	rt, err := r.memStore.Load()
	r.once.Do(r.other)
	return rt, err
}

// TestTokenSourceRetriesRotatedToken: the provider answers invalid_grant
// because another process rotated the refresh token after this one read
// it; the Source reads the keychain again and refreshes with the new one.
func TestTokenSourceRetriesRotatedToken(t *testing.T) {
	s := oauthtest.New("alice@example.test")
	defer s.Close()
	shared := signedIn(t, s)
	store := &raceStore{memStore: shared, other: func() {
		ts, _ := oauth.TokenSource(context.Background(), testConfig(s), shared, nil)
		if _, err := ts.Token(); err != nil {
			t.Errorf("the other process: %v", err)
		}
	}}
	ts, err := oauth.TokenSource(context.Background(), testConfig(s), store, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatalf("Token after another process rotated the refresh token: %v", err)
	}
	if err := s.CheckAccessToken("alice@example.test", tok.AccessToken); err != nil {
		t.Error(err)
	}
	if s.Refreshes() != 2 || !s.SignedIn() {
		t.Errorf("refreshes %d, signed in %t", s.Refreshes(), s.SignedIn())
	}
}

// TestTokenSourceRefused: a token the mail server refused is dropped and
// the next Token refreshes; another token changes nothing.
func TestTokenSourceRefused(t *testing.T) {
	s := oauthtest.New("alice@example.test")
	defer s.Close()
	ts, err := oauth.TokenSource(context.Background(), testConfig(s), signedIn(t, s), nil)
	if err != nil {
		t.Fatal(err)
	}
	first, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	ts.Refused("some-other-token")
	if again, _ := ts.Token(); again.AccessToken != first.AccessToken || s.Refreshes() != 1 {
		t.Fatalf("Refused of another token dropped the cached one")
	}
	ts.Refused(first.AccessToken)
	second, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if second.AccessToken == first.AccessToken || s.Refreshes() != 2 {
		t.Errorf("refused token was handed out again (refreshes %d)", s.Refreshes())
	}
}

// TestTokenSourceLockTimeout: a refresh lock held elsewhere for longer than
// the context allows fails with the context's error instead of hanging.
func TestTokenSourceLockTimeout(t *testing.T) {
	s := oauthtest.New("alice@example.test")
	defer s.Close()
	store := &waitingStore{memStore: signedIn(t, s)}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	ts, _ := oauth.TokenSource(ctx, testConfig(s), store, nil)
	if _, err := ts.Token(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Token = %v, want DeadlineExceeded", err)
	}
}

type waitingStore struct{ *memStore }

func (waitingStore) LockRefresh(ctx context.Context) (func(), error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
