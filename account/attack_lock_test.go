package account_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/internal/filelock"
)

// TestAttackPlantedRefreshLock: someone who can write to the folder of
// accounts.json plants the account's refresh lock file before securesend
// creates it. Before the fix the lock was opened with O_CREATE through
// whatever was there: a symbolic link made securesend create (mode 0600,
// as the user) or open and lock a file anywhere the user may write, and a
// file owned by another user let that user hold the lock and keep every
// securesend process from refreshing the sign-in. Now the lock file is
// opened without following a link (O_NOFOLLOW) and must be a regular file
// owned by the user; otherwise the refresh fails with
// filelock.ErrUnsafeLockFile and nothing is created.
func TestAttackPlantedRefreshLock(t *testing.T) {
	f := newFixture(t)
	h := testHome(t)
	f.store = account.NewStore(h, f.kc)
	acct := f.add(t, oauthAccount("m365", f.idp.URL))
	a, err := f.store.Get(acct.Name)
	if err != nil {
		t.Fatal(err)
	}
	locker, ok := account.RefreshStore(a, f.store.Secrets()).(oauth.RefreshLocker)
	if !ok {
		t.Fatal("the account's refresh store takes no lock")
	}
	unlock, err := locker.LockRefresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	locks, _ := filepath.Glob(filepath.Join(h.Dir, "*", "account-m365.oauth-lock"))
	locks2, _ := filepath.Glob(filepath.Join(h.Dir, "account-m365.oauth-lock"))
	locks = append(locks, locks2...)
	if len(locks) != 1 {
		t.Fatalf("lock files: %v", locks)
	}
	lockPath := locks[0]

	elsewhere := t.TempDir()
	target := filepath.Join(elsewhere, "created-by-securesend")
	existing := filepath.Join(elsewhere, "victim")
	os.WriteFile(existing, []byte("keep"), 0o644)
	cases := []struct {
		name  string
		plant func(t *testing.T) error
	}{
		{"symlink to a new file", func(t *testing.T) error { return os.Symlink(target, lockPath) }},
		{"symlink to an existing file", func(t *testing.T) error { return os.Symlink(existing, lockPath) }},
		{"a directory", func(t *testing.T) error { return os.Mkdir(lockPath, 0o700) }},
	}
	if os.Geteuid() == 0 {
		cases = append(cases, struct {
			name  string
			plant func(t *testing.T) error
		}{"a file of another user", func(t *testing.T) error {
			if err := os.WriteFile(lockPath, nil, 0o666); err != nil {
				return err
			}
			return os.Chown(lockPath, 65534, 65534)
		}})
	} else {
		t.Log("not root: the other-user case needs chown and is skipped")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(lockPath)
			if err := tc.plant(t); err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(lockPath)
			unlock, err := locker.LockRefresh(context.Background())
			if err == nil {
				unlock()
				t.Fatal("LockRefresh took a planted lock file")
			}
			if !errors.Is(err, filelock.ErrUnsafeLockFile) {
				t.Errorf("err = %v, want filelock.ErrUnsafeLockFile", err)
			}
			if _, err := os.Lstat(target); err == nil {
				t.Error("the link's target was created")
			}
		})
	}
	// A lock file of the user's own works again.
	os.RemoveAll(lockPath)
	unlock, err = locker.LockRefresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	unlock()
}
