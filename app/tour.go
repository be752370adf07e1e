package app

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
)

// Tour drives one full demo send and receive in the real window, pausing at
// each screen so scripts/screenshot.sh can photograph the screen: at each
// step it saves the window's own rendering as dir/NAME.canvas.png, writes
// dir/NAME.ready and waits (up to a minute) for dir/NAME.done before going
// on. It closes the app at the end. It is for the screenshot script only.
func (u *UI) Tour(dir string) {
	step := func(name string) {
		ch := make(chan struct{})
		fyne.Do(func() {
			if img := u.win.Canvas().Capture(); img != nil {
				if f, err := os.Create(filepath.Join(dir, name+".canvas.png")); err == nil {
					_ = png.Encode(f, img)
					f.Close()
				}
			}
			close(ch)
		})
		<-ch
		_ = os.WriteFile(filepath.Join(dir, name+".ready"), nil, 0o600)
		for i := 0; i < 600; i++ {
			if _, err := os.Stat(filepath.Join(dir, name+".done")); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		fmt.Fprintf(os.Stderr, "securesend: tour: no %s.done, going on\n", name)
	}
	wait := func(hook *func(), start func()) {
		ch := make(chan struct{}, 1)
		fyne.Do(func() {
			*hook = func() { ch <- struct{}{} }
			start()
		})
		<-ch
		fyne.Do(func() { *hook = nil })
	}
	settle := func() { time.Sleep(2500 * time.Millisecond) } // let the window repaint (slow on a loaded machine)

	fyne.Do(func() { u.win.Resize(fyne.NewSize(1024, 720)) })
	settle()
	step("1-send-empty")
	wait(&u.send.addDone, func() { u.send.addPaths(u.cfg.Samples) })
	fyne.Do(func() {
		u.send.nhiEntry.SetText("ZZZ0016")
		u.send.note.SetText("Repeat prescription as discussed. Please call if anything is unclear.")
	})
	settle()
	step("2-send-documents")
	fyne.Do(u.send.requestSend) // the check before sending
	settle()
	step("3a-check-before-sending")
	wait(&u.send.sendDone, u.send.onSend)
	settle()
	step("3-confirmation")
	fyne.Do(func() { u.tabs.Select(u.inbox.item) })
	wait(&u.inbox.fetchDone, u.inbox.checkNow)
	fyne.Do(func() {
		if len(u.inbox.items) > 0 {
			u.inbox.list.Select(0)
		}
	})
	settle()
	step("4-inbox-verified")
	fyne.Do(func() { u.tabs.Select(u.settings.item) })
	settle()
	step("5-settings")
	if u.cfg.Outbox != nil {
		fyne.Do(func() { u.tabs.Select(u.sent.item) })
		settle() // the outbox is listed off the UI goroutine
		fyne.Do(func() {
			if len(u.sent.recs) > 0 {
				u.sent.selectJob(u.sent.recs[0].ID)
			}
		})
		settle()
		step("6-sent")
	}
	fyne.Do(u.app.Quit)
}
