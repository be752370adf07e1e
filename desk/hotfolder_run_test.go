package desk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/hotfolder"
)

// TestWatchHotFolder: between rounds the watch retries the run's deferred
// job once it is due, and it runs until its context ends; a sent/ that is
// a link stops it at once with the *hotfolder.SubfolderError, nothing
// moved through the link.
func TestWatchHotFolder(t *testing.T) {
	d, clock := clockDesk(t)
	pki := accounttest.NewPKI(t)
	down := testDraft(t, pki, closedAddr(t), send.EncryptNever)
	ob, err := d.Outbox(OutboxOptions{Via: down.Via})
	if err != nil {
		t.Fatal(err)
	}
	var evs runEvents
	run := ob.NewRun(evs.add)
	id, err := ob.Send(t.Context(), down)
	if err != nil {
		t.Fatal(err)
	}
	run.Deliver(t.Context(), id, "script.pdf")
	wantOutcomes(t, "first delivery", evs.take(), RunDeferred)
	clock.Set(clock.Now().Add(24 * time.Hour)) // due

	noFiles := func(context.Context, hotfolder.Item) (string, error) {
		t.Error("the handler was called for an empty folder")
		return "", errors.New("unexpected")
	}
	w, err := hotfolder.New(hotfolder.Config{Dir: t.TempDir(), Handle: noFiles, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run.WatchHotFolder(ctx, w, func(err error) { t.Errorf("warned: %v", err) }) }()
	for len(evs.peek()) == 0 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if got := evs.take(); len(got) == 0 || got[0].Outcome != RunDeferred || got[0].JobID != id {
		t.Fatalf("after a round: %+v, want the due job tried again", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("stopped by its context: %v, want nil", err)
	}

	dir, elsewhere := t.TempDir(), t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(dir, hotfolder.SentDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scan.pdf"), []byte("%PDF-1.7\nscan\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	queue := func(context.Context, hotfolder.Item) (string, error) { return "job", nil }
	w, err = hotfolder.New(hotfolder.Config{Dir: dir, Handle: queue, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel2()
	err = run.WatchHotFolder(ctx2, w, nil)
	var se *hotfolder.SubfolderError
	if !errors.As(err, &se) || ctx2.Err() != nil {
		t.Fatalf("with sent/ a link: %v (context: %v), want a *hotfolder.SubfolderError at once", err, ctx2.Err())
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Errorf("moved through the link: %v", ents)
	}
}
