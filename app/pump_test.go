package app

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/securesend/securesend/app/apptest"
)

// The tests' app is apptest's: fyne.Do from a background goroutine waits
// for the test to wait (pumpUntil, pumpRecv, await), as with the real
// driver, instead of touching widgets while the test reads them. These
// short names keep the many tests readable.

// newTestApp is apptest.NewApp.
func newTestApp(t testing.TB) fyne.App { return apptest.NewApp(t) }

// assertNotificationSent is apptest.AssertNotificationSent.
func assertNotificationSent(t *testing.T, want *fyne.Notification, f func()) {
	t.Helper()
	apptest.AssertNotificationSent(t, want, f)
}

// pumpUntil is apptest.PumpUntil.
func pumpUntil(t testing.TB, what string, limit time.Duration, done func() bool) {
	t.Helper()
	apptest.PumpUntil(t, what, limit, done)
}

// pumpRecv is apptest.PumpRecv.
func pumpRecv[T any](ch <-chan T, limit time.Duration) (T, bool) {
	return apptest.PumpRecv(ch, limit)
}
