package apptest

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
)

func TestDriverQueuesOtherGoroutines(t *testing.T) {
	NewApp(t)
	var ran []string
	fyne.Do(func() { ran = append(ran, "main") }) // the test's goroutine: at once
	done := make(chan struct{})
	go func() {
		fyne.Do(func() { ran = append(ran, "background") })
		close(done)
	}()
	<-done
	if len(ran) != 1 || ran[0] != "main" {
		t.Fatalf("before the pump: %q", ran)
	}
	PumpUntil(t, "background", time.Minute, func() bool { return len(ran) == 2 })
	if ran[1] != "background" {
		t.Fatalf("after the pump: %q", ran)
	}
}

func TestAwaitRunsQueuedWorkBeforeTheSignal(t *testing.T) {
	NewApp(t)
	var ran bool
	ch := make(chan struct{})
	go func() {
		fyne.Do(func() { ran = true })
		close(ch)
	}()
	Await(t, "the background work", time.Minute, ch)
	Pump()
	if !ran {
		t.Fatal("the queued function did not run on the test's goroutine")
	}
}

func TestNotificationSent(t *testing.T) {
	a := NewApp(t)
	AssertNotificationSent(t, &fyne.Notification{Title: "T", Content: "C"}, func() {
		a.SendNotification(&fyne.Notification{Title: "T", Content: "C"})
	})
	AssertNotificationSent(t, nil, func() {})
}
