package mailserver

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// StartT starts a server for a test and stops it in t.Cleanup, even when the
// test fails; the logs of both servers go to the test log if it failed. When
// the machine cannot run one (see Available), the test is skipped with the
// reason, unless CI=true, where it fails instead: CI must run every test.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	RequireAvailable(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mail server directory: %s\n%s", s.Dir, s.Logs())
		}
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// RequireAvailable skips t when the machine cannot run a server (see
// Available), with the reason, unless CI=true, where it fails instead: CI
// must run every test.
func RequireAvailable(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true, so this is a failure, not a skip)", err)
		}
		t.Skipf("%v; install with: scripts/install-deps.sh test, and run the tests as root", err)
	}
}

// IsUnavailable reports whether err says the machine cannot run a server.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }
