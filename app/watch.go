package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/internal/termsafe"
)

// WatchFunc runs the watch that delivers verified documents as they
// arrive until ctx ends: desk.Desk.Watch, the one 'securesend inbox
// watch' runs.
type WatchFunc func(ctx context.Context, opts desk.WatchOptions) error

// watchSettingsFile is the file in the home that remembers the desktop
// watch setting between runs.
const watchSettingsFile = "desktop-watch.json"

// watchSettings is the user's choice for the desktop watch; off unless
// they turned it on.
type watchSettings struct {
	On      bool   `json:"on"`
	Drop    string `json:"drop,omitempty"`
	Printer string `json:"printer,omitempty"`
}

// watchActivityMax is how many lines of activity the section keeps.
const watchActivityMax = 50

// watchSection is Settings → "Deliver verified documents as they
// arrive": while the app is open and the setting is on, the same watch as
// 'securesend inbox watch' writes each verified document to a folder
// and/or prints it, and the section lists what it delivered and what may
// have been printed already (never printed twice silently).
type watchSection struct {
	ui *UI

	root     *fyne.Container
	on       *focusCheck
	drop     *focusEntry
	dropErr  *widget.Label
	choose   *focusButton
	printer  *focusEntry
	printErr *widget.Label
	state    *widget.Label
	activity *fyne.Container

	// mu guards cancel and running; stopped is closed when the watch
	// that was running has returned.
	mu      sync.Mutex
	cancel  context.CancelFunc
	stopped chan struct{}
	account string // the account the running watch watches
	// setting is true while on.SetChecked runs from code, not the user.
	setting bool
	// event, when set (tests), is called on the UI goroutine after each
	// watch event or end of a watch has been shown.
	event func()
}

// newWatchSection makes the section and, when the user left the setting
// on, starts the watch.
func newWatchSection(u *UI) *watchSection {
	w := &watchSection{ui: u}
	w.drop = newEntry(false, "a folder, e.g. the one your dispensing software reads")
	w.dropErr = fieldError()
	w.choose = newButton("Choose…", theme.FolderOpenIcon(), widget.MediumImportance, w.chooseFolder)
	w.printer = newEntry(false, "a printer (CUPS queue) name, optional")
	w.printErr = fieldError()
	w.drop.OnChanged = func(string) { w.clearErr(w.dropErr) }
	w.printer.OnChanged = func(string) { w.clearErr(w.printErr) }
	w.on = newCheck("Deliver verified documents as they arrive", w.toggled)
	w.state = &widget.Label{Text: "Off.", Wrapping: fyne.TextWrapWord}
	w.activity = container.NewVBox()
	form := widget.NewForm(
		widget.NewFormItem("Folder", container.NewVBox(container.NewBorder(nil, nil, nil, w.choose, w.drop), w.dropErr)),
		widget.NewFormItem("Printer", container.NewVBox(w.printer, w.printErr)),
	)
	w.root = container.NewVBox(
		heading("Deliver verified documents as they arrive"),
		&widget.Label{Wrapping: fyne.TextWrapWord, Text: "While securesend is open, each new message whose signature checks out (Verified) has its documents written to the folder and/or printed, once each, as a fax machine would. Anything not verified is never delivered: it waits in the Inbox with its reason. Leave the printer empty to only write to the folder, or the folder empty to only print."},
		form,
		w.on,
		w.state,
		heading("Delivered"),
		w.activity,
	)
	w.activity.Add(&widget.Label{Text: "Nothing delivered yet.", Importance: widget.LowImportance})
	s, err := w.load()
	if err != nil {
		w.state.SetText("Your delivery setting could not be read, so it is off: " + sentence(err.Error()))
		return w
	}
	w.drop.SetText(s.Drop)
	w.printer.SetText(s.Printer)
	if s.On {
		w.setChecked(true)
		w.start()
	}
	return w
}

// fieldError is the red line under a field that says what is wrong
// with it; hidden while nothing is.
func fieldError() *widget.Label {
	l := &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance}
	l.Hide()
	return l
}

// setErr shows msg under a field ("" hides it).
func setErr(l *widget.Label, msg string) {
	l.SetText(msg)
	if msg == "" {
		l.Hide()
	} else {
		l.Show()
	}
}

func (w *watchSection) clearErr(l *widget.Label) { setErr(l, "") }

func (w *watchSection) setChecked(on bool) {
	w.setting = true
	w.on.SetChecked(on)
	w.setting = false
}

func (w *watchSection) chooseFolder() {
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil || u == nil {
			return
		}
		w.drop.SetText(u.Path())
	}, w.ui.win)
	w.ui.showDialog(d)
}

// toggled is the user ticking or unticking the box: the choice is
// checked, remembered and the watch started or stopped.
func (w *watchSection) toggled(on bool) {
	if w.setting {
		return
	}
	if !on {
		w.stop()
		w.save(false)
		w.state.SetText("Off.")
		return
	}
	if !w.checkFields() {
		w.setChecked(false)
		w.state.SetText("Not turned on: correct the fields marked in red.")
		return
	}
	if !w.save(true) {
		w.setChecked(false)
		return
	}
	w.start()
}

// checkFields shows what is wrong with the folder and printer next to
// them, in order; true when both are fine.
func (w *watchSection) checkFields() bool {
	drop, printer := strings.TrimSpace(w.drop.Text), strings.TrimSpace(w.printer.Text)
	ok := true
	switch {
	case drop == "" && printer == "":
		setErr(w.dropErr, "Choose a folder, or enter a printer below.")
		ok = false
	case drop != "" && !filepath.IsAbs(drop):
		setErr(w.dropErr, "Give the folder's full path, or pick it with Choose….")
		ok = false
	case drop != "":
		if fi, err := os.Stat(drop); err != nil || !fi.IsDir() {
			setErr(w.dropErr, "There is no folder "+termsafe.String(drop)+". Choose an existing folder.")
			ok = false
		} else {
			setErr(w.dropErr, "")
		}
	default:
		setErr(w.dropErr, "")
	}
	if printer != "" {
		if err := desk.CheckPrinterName(printer); err != nil {
			setErr(w.printErr, "That is not a printer name: a CUPS queue name has no spaces, slashes or quotes (see Printers in your system settings).")
			ok = false
		} else {
			setErr(w.printErr, "")
		}
	} else {
		setErr(w.printErr, "")
	}
	return ok
}

// options are the watch's options from the fields.
func (w *watchSection) options() desk.WatchOptions {
	opts := desk.WatchOptions{Account: w.ui.cfg.Account, Drop: strings.TrimSpace(w.drop.Text)}
	if p := strings.TrimSpace(w.printer.Text); p != "" {
		opts.Printer = &desk.LP{Printer: p}
	}
	return opts
}

// start runs the watch off the UI goroutine until stop or the app ends;
// what it does is shown as it happens.
func (w *watchSection) start() {
	w.stop()
	opts := w.options()
	parent := w.ui.running
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	done := make(chan struct{})
	w.mu.Lock()
	w.cancel, w.stopped, w.account = cancel, done, opts.Account
	w.mu.Unlock()
	w.drop.Disable()
	w.printer.Disable()
	w.choose.Disable()
	w.state.SetText("Starting…")
	opts.Event = func(ev desk.WatchEvent) { fyne.Do(func() { w.show(ev) }) }
	run := w.ui.cfg.Watch
	go func() {
		defer close(done)
		err := run(ctx, opts)
		fyne.Do(func() { w.ended(ctx, err) })
	}()
}

// stop ends the running watch, if any, and waits until it has returned.
func (w *watchSection) stop() {
	w.mu.Lock()
	cancel, done := w.cancel, w.stopped
	w.cancel, w.stopped = nil, nil
	w.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
	w.drop.Enable()
	w.printer.Enable()
	w.choose.Enable()
}

// running reports whether a watch runs.
func (w *watchSection) running() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cancel != nil
}

// accountChanged restarts a running watch on the account now in use.
func (w *watchSection) accountChanged() {
	w.mu.Lock()
	same := w.cancel == nil || w.account == w.ui.cfg.Account
	w.mu.Unlock()
	if !same {
		w.start()
	}
}

// ended shows why a watch returned: stopped by the user or the app, or an
// error that waiting cannot mend (no account with an inbox server, a
// journal that cannot be written), which turns the box off again.
func (w *watchSection) ended(ctx context.Context, err error) {
	defer w.notify()
	if ctx.Err() != nil && err == nil {
		return // stopped on purpose; stop() re-enabled the fields
	}
	w.mu.Lock()
	if w.cancel != nil {
		w.cancel()
	}
	w.cancel, w.stopped = nil, nil
	w.mu.Unlock()
	w.drop.Enable()
	w.printer.Enable()
	w.choose.Enable()
	w.setChecked(false)
	msg := "The watch stopped."
	if err != nil {
		msg = "Not delivering: " + sentence(termsafe.String(err.Error()))
	}
	w.state.SetText(msg)
}

func (w *watchSection) notify() {
	if w.event != nil {
		w.event()
	}
}

// show shows one watch event: the connection state, or a line of
// activity for a delivery.
func (w *watchSection) show(ev desk.WatchEvent) {
	defer w.notify()
	if !w.running() {
		return
	}
	name := termsafe.String(ev.Name)
	when := ev.Time.Local().Format("15:04")
	dest := "written to the folder"
	if ev.Dest == "print" {
		dest = "printed"
	}
	switch ev.Kind {
	case desk.EventConnected:
		w.state.SetText("On: waiting for new messages (" + termsafe.String(ev.Detail) + ").")
	case desk.EventFetched:
		w.state.SetText("On: checked at " + when + "; waiting for new messages.")
	case desk.EventDisconnected:
		w.state.SetText("The mail server cannot be reached (" + errText(ev.Err) + "); " + termsafe.String(ev.Detail) + ".")
	}
	switch ev.Kind {
	case desk.EventDelivered, desk.EventNotDelivered, desk.EventPossiblyDelivered, desk.EventFailed:
		// New mail: the Inbox shows it now, not at its next poll.
		w.ui.inbox.startCheck()
	}
	switch ev.Kind {
	case desk.EventDelivered:
		w.addActivity(theme.ConfirmIcon(), widget.MediumImportance, when+" "+name+" "+dest+".")
	case desk.EventPossiblyDelivered:
		what := "Possibly printed"
		if ev.Dest != "print" {
			what = "Possibly written"
		}
		w.addActivity(theme.WarningIcon(), widget.WarningImportance, when+" "+what+": "+name+". securesend was interrupted while delivering it, so it is not delivered again: check the printer or folder, and print or save it from the Inbox if it is missing.")
	case desk.EventFailed:
		w.addActivity(theme.ErrorIcon(), widget.DangerImportance, when+" "+name+" not "+dest+": "+sentence(errText(ev.Err))+" It is tried again.")
	case desk.EventNotDelivered:
		w.addActivity(theme.InfoIcon(), widget.MediumImportance, when+" A message was not delivered because it is not verified ("+termsafe.String(ev.Detail)+"). It waits in the Inbox.")
	case desk.EventNotReceived:
		w.addActivity(theme.ErrorIcon(), widget.DangerImportance, when+" A message could not be received: "+termsafe.String(ev.Detail))
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return termsafe.String(err.Error())
}

// addActivity adds a line at the top of the activity list.
func (w *watchSection) addActivity(icon fyne.Resource, imp widget.Importance, text string) {
	if len(w.activity.Objects) == 1 {
		if l, ok := w.activity.Objects[0].(*widget.Label); ok && l.Importance == widget.LowImportance {
			w.activity.RemoveAll()
		}
	}
	row := container.NewBorder(nil, nil, widget.NewIcon(icon), nil, &widget.Label{Text: text, Wrapping: fyne.TextWrapWord, Importance: imp})
	w.activity.Objects = append([]fyne.CanvasObject{row}, w.activity.Objects...)
	if len(w.activity.Objects) > watchActivityMax {
		w.activity.Objects = w.activity.Objects[:watchActivityMax]
	}
	w.activity.Refresh()
}

// load reads the remembered choice; off when there is none.
func (w *watchSection) load() (watchSettings, error) {
	var s watchSettings
	data, err := os.ReadFile(w.ui.cfg.Home.Path(watchSettingsFile))
	if errors.Is(err, fs.ErrNotExist) || w.ui.cfg.Home.Dir == "" {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return watchSettings{}, fmt.Errorf("%s: %w", watchSettingsFile, err)
	}
	return s, nil
}

// save remembers the choice in the home; false (and says why) when it
// could not.
func (w *watchSection) save(on bool) bool {
	if w.ui.cfg.Home.Dir == "" {
		return true
	}
	s := watchSettings{On: on, Drop: strings.TrimSpace(w.drop.Text), Printer: strings.TrimSpace(w.printer.Text)}
	data, err := json.MarshalIndent(s, "", "  ")
	if err == nil {
		err = w.ui.cfg.Home.Ensure()
	}
	if err == nil {
		err = atomicfile.WriteFile(w.ui.cfg.Home.Path(watchSettingsFile), data)
	}
	if err != nil {
		w.state.SetText("Your choice could not be saved: " + sentence(err.Error()))
		return false
	}
	return true
}
