// Package apptest gives Fyne tests an app whose main loop behaves like the
// real driver's.
//
// Fyne's test driver runs fyne.Do's function at once on the calling
// goroutine. A fetch or send the app does in the background then touches
// widgets at the same time as the test does (Fyne's caches are not safe
// for that: CI once died of it in the Inbox). The app NewApp returns has a
// driver that behaves like the real one: a function handed to fyne.Do from
// another goroutine waits in a queue, and runs on the test's goroutine when
// the test waits for something (Await, PumpUntil, PumpRecv). Work a test
// never waits for never touches a widget.
//
// The package is for tests only; it is used by the app's own tests and by
// the command's GUI tests.
package apptest

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// mainLoop is the queue of functions waiting for the main loop. There is
// one for the process, not one per app: fyne.Do goes to the current app,
// and a test with two windows has a current app that is not the one whose
// goroutine calls it.
type mainLoop struct {
	mu    sync.Mutex
	owner uint64   // the goroutine that plays the main loop
	queue []func() // functions waiting for the main loop
	apps  int      // test apps not yet cleaned up
	ready chan struct{}
}

// loop is the tests' main loop. Work still queued when the last test app
// is cleaned up is dropped: its test has ended.
var loop = &mainLoop{ready: make(chan struct{}, 1)}

// pumpDriver is Fyne's test driver whose fyne.Do goes through loop.
type pumpDriver struct {
	fyne.Driver
}

// pumpApp is a test app whose Driver is a pumpDriver; it keeps the last
// notification sent (Fyne's test.AssertNotificationSent needs its own app
// type).
type pumpApp struct {
	fyne.App
	drv  *pumpDriver
	last *fyne.Notification // only touched on the main loop
}

func (a *pumpApp) Driver() fyne.Driver { return a.drv }

func (a *pumpApp) SendNotification(n *fyne.Notification) {
	a.last = n
	a.App.SendNotification(n)
}

// NewApp is test.NewTempApp with the main-loop queue; the calling
// goroutine is the main loop. It becomes the current app.
func NewApp(t testing.TB) fyne.App {
	base := test.NewTempApp(t)
	loop.mu.Lock()
	if loop.apps == 0 {
		loop.owner = goroutineID()
	}
	loop.apps++
	loop.mu.Unlock()
	t.Cleanup(func() {
		loop.mu.Lock()
		if loop.apps--; loop.apps == 0 {
			loop.queue = nil
		}
		loop.mu.Unlock()
	})
	a := &pumpApp{App: base, drv: &pumpDriver{Driver: base.Driver()}}
	fyne.SetCurrentApp(a)
	return a
}

// AssertNotificationSent checks that f, run on the main loop, sends the
// notification want (nil: none). The current app must be one from NewApp.
func AssertNotificationSent(t testing.TB, want *fyne.Notification, f func()) {
	t.Helper()
	a, ok := fyne.CurrentApp().(*pumpApp)
	if !ok {
		t.Fatalf("the current app is a %T, not the tests' app", fyne.CurrentApp())
	}
	a.last = nil
	f()
	switch {
	case want == nil && a.last != nil:
		t.Errorf("notification %q: %q sent", a.last.Title, a.last.Content)
	case want == nil:
	case a.last == nil:
		t.Errorf("no notification sent; want %q: %q", want.Title, want.Content)
	case a.last.Title != want.Title || a.last.Content != want.Content:
		t.Errorf("notification %q: %q; want %q: %q", a.last.Title, a.last.Content, want.Title, want.Content)
	}
}

// DoFromGoroutine runs f at once when called from the main loop's
// goroutine, and otherwise queues it for the main loop.
func (d *pumpDriver) DoFromGoroutine(f func(), wait bool) { loop.do(f, wait) }

func (l *mainLoop) do(f func(), wait bool) {
	l.mu.Lock()
	if goroutineID() == l.owner {
		l.mu.Unlock()
		f()
		return
	}
	done := make(chan struct{})
	l.queue = append(l.queue, func() { defer close(done); f() })
	l.mu.Unlock()
	select {
	case l.ready <- struct{}{}:
	default:
	}
	if wait {
		<-done
	}
}

// Pump runs what is queued for the main loop, on the calling goroutine,
// which becomes the main loop.
func Pump() { loop.pump() }

func (l *mainLoop) pump() {
	for {
		l.mu.Lock()
		l.owner = goroutineID()
		q := l.queue
		l.queue = nil
		l.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, f := range q {
			f()
		}
	}
}

// PumpUntil runs the main loop until done reports true; it fails the test
// after limit (which only stops a hung test).
func PumpUntil(t testing.TB, what string, limit time.Duration, done func() bool) {
	t.Helper()
	deadline := time.After(limit)
	for {
		loop.pump()
		if done() {
			return
		}
		select {
		case <-loop.ready:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s did not finish", what)
		}
	}
}

// PumpRecv runs the main loop until ch delivers, and reports whether it did
// within limit.
func PumpRecv[T any](ch <-chan T, limit time.Duration) (T, bool) {
	deadline := time.After(limit)
	for {
		loop.pump()
		select {
		case v := <-ch:
			return v, true
		case <-loop.ready:
		case <-deadline:
			var zero T
			return zero, false
		}
	}
}

// Await runs the main loop until ch delivers or is closed; it fails the
// test after limit (which only stops a hung test).
func Await[T any](t testing.TB, what string, limit time.Duration, ch <-chan T) {
	t.Helper()
	if _, ok := PumpRecv(ch, limit); !ok {
		t.Fatalf("%s did not finish", what)
	}
}

// goroutineID is the calling goroutine's number, from its stack header
// ("goroutine 18 [running]:").
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
