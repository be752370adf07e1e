// Package app is the securesend desktop app (Fyne): a Send tab for
// clinicians, an Inbox tab for pharmacists and a Settings tab.
//
// The UI holds no protocol, cryptography or policy: everything it does goes
// through the functions in Config (send, fetch, verify), which OpenDesk
// wires to a desk.Session (tests may wire fakes), and through internal/doccheck and internal/nhi
// for checking what the user enters. Long work runs off the UI goroutine and
// reports back through fyne.Do.
package app

import (
	"context"
	"fmt"
	"image"
	"io"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/assets"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// Recipient is an address the Send tab offers.
type Recipient struct {
	Name    string
	Address string
	// KeyState says whether the recipient's key is "pinned", "unverified"
	// or "none"; shown beside the name.
	KeyState string
}

// String is how the recipient is shown in the picker, with what is known
// of their key in words.
func (r Recipient) String() string {
	s := displayAddress(mail.Address{Name: r.Name, Address: r.Address})
	switch r.KeyState {
	case "":
	case "pinned":
		s += " (key checked)"
	case "unverified":
		s += " (key not yet checked)"
	case "none":
		s += " (no key)"
	default:
		s += " (key " + r.KeyState + ")"
	}
	return s
}

// displayAddress is an address as people write it: Name <address>.
func displayAddress(a mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.Name + " <" + a.Address + ">"
}

// Received is one message in the inbox with its verification report.
type Received struct {
	// Key identifies the message (e.g. UIDVALIDITY/UID or a file path).
	Key      string
	Received time.Time
	Report   *receive.Report
	// Source says where it came from ("mailbox", or the .eml file's path).
	Source string
	// Duplicate, when set, says that this message or one of its documents
	// arrived before (e.g. "the same document arrived before as message
	// 3"); shown as a warning.
	Duplicate string
	// Superseded and Supersedes are the inbox item's (receive.Item):
	// shown in red by superseded.go.
	Superseded *receive.Supersession
	Supersedes *receive.SupersedeClaim
}

// Setting is one line of the Settings tab.
type Setting struct {
	Name, Value string
	// Locked marks a setting that the organisation's policy fixes.
	Locked bool
	// LockNote says why it is locked; "Locked by your organisation" when
	// empty.
	LockNote string
}

// Config is what the app needs from the rest of the program. Send and
// Fetch may be called on any goroutine; they must honour ctx.
type Config struct {
	Home home.Home
	// Demo selects demo mode (banner, test NHIs accepted, samples offered).
	Demo bool
	// From is the sender.
	From mail.Address
	// Recipients are offered in the picker; any address can also be typed.
	Recipients []Recipient
	// EncryptionRequired, when set, says whether the organisation policy
	// requires a message to addr to be encrypted (the desk's
	// Outbox.EncryptionRequired): such recipients whose KeyState is
	// "none" are marked at once and refused before the check step.
	EncryptionRequired func(addr string) bool
	// Send submits m, calling progress with the bytes written so far.
	Send func(ctx context.Context, m *send.Message, progress func(sent int64)) (*send.Result, error)
	// InboxOwner names the mailbox the Inbox tab shows.
	InboxOwner string
	// Fetch returns every message in the inbox with its report.
	Fetch func(ctx context.Context) ([]Received, error)
	// Failures, when set, returns the messages fetching could not fetch,
	// verify or store (desk.Desk.Failures); shown after each check.
	Failures func() ([]receive.Failure, error)
	// Document, when set, returns a local file holding document n of the
	// received message with the given key, for Open and Save as… (for
	// stores that keep documents encrypted), by the rules of
	// desk.Desk.OpenDocument: never for a withheld message; for one its
	// sender cancelled or replaced only with ok.Superseded, and for one
	// that is not verified only with ok.Unverified (each set only when
	// the user answered that question). When nil, the report's
	// Document.Path is used. The file is a decrypted temporary copy: the
	// app removes it once it has been saved elsewhere.
	Document func(key string, n int, ok desk.Confirmations) (path string, err error)
	// OpenFile opens a document that passed the checks in the system's
	// viewer; Fyne's OpenURL when nil. (On Windows the front end passes
	// ShellExecuteW: the URL handler Fyne uses loses paths with non-ASCII
	// characters, such as a user name with macrons.)
	OpenFile func(path string) error
	// Acknowledge, when set, lets the pharmacist accept or reject a
	// verified message in the inbox with a signed answer to its sender
	// (acknowledge.go). OpenDesk sets it outside demo mode.
	Acknowledge Acknowledger
	// Verify verifies one message read from r (a dropped .eml file).
	Verify func(ctx context.Context, r io.Reader) (*receive.Report, error)
	// Samples are documents the demo offers with "Add sample documents".
	Samples []string
	// Protection says in words how the Send function protects content
	// (e.g. "Signed and encrypted with OpenPGP"); shown on the
	// confirmation when set.
	Protection string
	// Settings are shown on the Settings tab.
	Settings []Setting
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// TempDir is where combined PDFs are written; os.TempDir when empty.
	TempDir string
	// Outbox, when set, is where sends go (instead of Send): queued
	// before any network I/O, delivered and retried from there, and
	// listed in the Sent tab.
	Outbox *OutboxConfig
	// Keys, when set, lets the Settings tab manage the user's key and
	// correspondents' keys.
	Keys *KeysConfig
	// Accounts, when set, lets the Settings tab add and test mail
	// accounts.
	Accounts *AccountsConfig
	// Account names the mail account in use; empty in demo mode.
	Account string
	// OwnKey is the fingerprint, in groups of four, of the user's key that
	// signs what is sent from From; empty when there is none (what is sent
	// is then not signed). The Send tab shows it.
	OwnKey string
	// Watch, when set, offers Settings → "Deliver verified documents as
	// they arrive": while the app is open and the user turned it on, it
	// runs (desk.Desk.Watch) on the account in use. Kept across reloads.
	Watch WatchFunc
	// Reload, when set, returns the configuration as it is now. The app
	// calls it (off the UI goroutine) whenever Settings has added, removed
	// or signed in a mail account or created, imported or pinned a key,
	// and switches to what it returns at once, without a restart: the
	// sender and signing key, recipients, inbox, outbox, Settings rows
	// and demo mode. Home, Now, TempDir, Keys, Accounts and Reload are
	// kept from the configuration the app was started with.
	Reload func() (Config, error)
}

// UI is the app's main window and its tabs.
type UI struct {
	app      fyne.App
	win      fyne.Window
	cfg      Config
	tabs     *container.AppTabs
	send     *sendTab
	inbox    *inboxTab
	settings *settingsTab
	sent     *sentTab
	// inboxContent is the Inbox tab's content, in the tab from its first
	// showing (attachInbox).
	inboxContent fyne.CanvasObject
	// listening is set while the app follows the outbox (listenOutbox).
	listening atomic.Bool
	// banner holds the demo banner (shown in demo mode only);
	// bannerToggle folds its explanation away and back.
	banner       *fyne.Container
	bannerToggle *focusButton
	// bannerFit chooses between the full banner and its one line; low is
	// whether the window is lower than compactBannerBelow (setLow).
	bannerFit *fitBanner
	low       bool
	// running is the context of ShowAndRun (nil before); stopWatch ends
	// the outbox delivery loop of the outbox in use.
	running   context.Context
	stopWatch context.CancelFunc
	// reloadMu makes reloads run one after the other; reloadDone, when
	// set (tests), is called on the UI goroutine after each reload has
	// been applied (or has failed).
	reloadMu   sync.Mutex
	reloadDone func()
	// dialogs are the dialogs open now, the top one last (showDialog).
	dialogs []dialog.Dialog
	// firstFrame are the functions to call when the first frame is
	// drawn (OnFirstFrame).
	firstFrameMu sync.Mutex
	firstFrame   []func()
}

// New builds the main window of a on the given configuration. Call
// ShowAndRun (or Window().Show()) to display it.
func New(a fyne.App, cfg Config) *UI {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	title := "securesend"
	if cfg.Demo {
		title += " — demo mode"
	}
	a.SetIcon(assets.Icon)
	a.Settings().SetTheme(newTheme(a.Settings().Theme()))
	demo, toggle := demoBanner()
	banner, fit := newBannerBox(newFitColumn(demo), theme.InfoIcon(), theme.ColorNamePrimary, demoTitle)
	u := &UI{app: a, cfg: cfg, win: a.NewWindow(title), banner: banner, bannerToggle: toggle}
	u.win.SetIcon(assets.Icon)
	u.send = newSendTab(u)
	u.inbox = newInboxTab(u)
	u.settings = newSettingsTab(u)
	u.sent = newSentTab(u)
	items := []*container.TabItem{u.send.tabItem()}
	if cfg.Outbox != nil {
		items = append(items, u.sent.tabItem())
	}
	items = append(items, u.inbox.tabItem(), u.settings.tabItem())
	// The Inbox's content joins the window the first time the tab is
	// shown (ensureBuilt): the window's first layout measured and wrapped
	// every label of a tab that is not shown, ~40 ms of CPU of every
	// start (bench/gui-startup). Its widgets exist from here on, so
	// checking for mail and its status work before it is shown. It
	// shows its list or its detail on a low window (inboxTab.layoutBody).
	u.inboxContent = u.inbox.item.Content
	u.inbox.item.Content = container.NewStack()
	u.tabs = container.NewAppTabs(items...)
	u.tabs.OnSelected = func(it *container.TabItem) { u.ensureBuilt(it) }
	if !cfg.Demo {
		u.banner.Hide()
	}
	// The banner on top, in one short line on a low window
	// (bannerfit.go).
	u.bannerFit = fit
	u.win.SetContent(container.New(&windowLayout{banner: fit, onLow: u.setLow}, u.banner, u.tabs))
	u.restoreSize()
	u.win.SetOnClosed(u.saveSize)
	u.win.SetOnDropped(u.onDropped)
	u.win.SetMainMenu(u.mainMenu())
	u.win.Canvas().SetOnTypedKey(u.onTypedKey)
	return u
}

// topFirst is a Border layout of top above rest with top first among the
// container's objects, so that Tab reaches it first, as it is read
// (container.NewBorder lists the centre first).
func topFirst(top, rest fyne.CanvasObject) *fyne.Container {
	return container.New(layout.NewBorderLayout(top, nil, nil, nil), top, rest)
}

// ensureBuilt builds a tab's content the first time it is shown (the
// Sent and Settings tabs are built lazily, so the first frame comes
// sooner and their fonts load only when needed).
func (u *UI) ensureBuilt(it *container.TabItem) {
	switch it {
	case u.sent.item:
		u.sent.ensureBuilt()
	case u.settings.item:
		u.settings.ensureBuilt()
	case u.inbox.item:
		u.attachInbox()
		u.inbox.opened()
	}
}

// attachInbox puts the Inbox's content into its tab, the first time.
func (u *UI) attachInbox() {
	stack := u.inbox.item.Content.(*fyne.Container)
	if len(stack.Objects) == 0 {
		stack.Objects = []fyne.CanvasObject{u.inboxContent}
		stack.Refresh()
	}
}

// buildAll builds every tab now (tests).
func (u *UI) buildAll() {
	u.sent.ensureBuilt()
	u.settings.ensureBuilt()
	u.attachInbox()
}

// Window size preferences: the size the user left the window at.
const (
	prefWidth  = "window.width"
	prefHeight = "window.height"
)

// restoreSize sizes the window as the user last left it: 1024×720 the
// first time, and never less than 640×480 (the layout works from 800×600
// down; a smaller saved size is from a screen the window no longer
// suits).
func (u *UI) restoreSize() {
	p := u.app.Preferences()
	w := float32(p.FloatWithFallback(prefWidth, 1024))
	h := float32(p.FloatWithFallback(prefHeight, 720))
	u.win.Resize(fyne.NewSize(max(w, 640), max(h, 480)))
}

func (u *UI) saveSize() {
	s := u.win.Canvas().Size()
	if s.Width > 0 && s.Height > 0 {
		u.app.Preferences().SetFloat(prefWidth, float64(s.Width))
		u.app.Preferences().SetFloat(prefHeight, float64(s.Height))
	}
}

// notify shows a desktop notification. It never carries patient details:
// only who and the outcome.
func (u *UI) notify(title, content string) {
	u.app.SendNotification(fyne.NewNotification(title, content))
}

// OnFirstFrame arranges for fn to be called once, when the window's
// content is first drawn: a transparent 1×1 raster is added whose pixels
// the renderer asks for while painting the first frame (one for all the
// functions given: each raster added means the whole window laid out
// again). Call it before ShowAndRun. fn must not block.
func (u *UI) OnFirstFrame(fn func()) {
	u.firstFrameMu.Lock()
	defer u.firstFrameMu.Unlock()
	u.firstFrame = append(u.firstFrame, fn)
	if len(u.firstFrame) > 1 {
		return
	}
	var once sync.Once
	r := canvas.NewRaster(func(w, h int) image.Image {
		once.Do(func() {
			u.firstFrameMu.Lock()
			fns := u.firstFrame
			u.firstFrameMu.Unlock()
			for _, f := range fns {
				f()
			}
		})
		return image.NewNRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
	})
	r.Resize(fyne.NewSize(1, 1))
	u.win.SetContent(container.NewStack(u.win.Content(), container.NewWithoutLayout(r)))
}

// Window returns the main window.
func (u *UI) Window() fyne.Window { return u.win }

// firstCheckLatest is how long after ShowAndRun the first check for mail
// starts at the latest, should the window not have been drawn by then.
const firstCheckLatest = 3 * time.Second

// ShowAndRun shows the window and runs the app until it is closed.
func (u *UI) ShowAndRun() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u.running = ctx
	// The first check for mail starts once the window is drawn (or
	// firstCheckLatest after this, should it not be drawn by then): its
	// TLS set-up, fetch and verifying competed with the first frame for
	// the CPU, ~60 ms of CPU to it (bench/gui-startup).
	var once sync.Once
	start := func() { once.Do(func() { fyne.Do(func() { u.inbox.startPolling(ctx) }) }) }
	u.OnFirstFrame(func() { go start() })
	latest := time.AfterFunc(firstCheckLatest, start)
	defer latest.Stop()
	u.followOutbox()
	u.win.ShowAndRun()
}

// followOutbox follows the outbox in use while the app runs: its changes
// are shown (listenOutbox) and its due jobs delivered (sentTab.watch),
// until the app ends or switches to another outbox.
func (u *UI) followOutbox() {
	if u.stopWatch != nil {
		u.stopWatch()
		u.stopWatch = nil
	}
	if u.running == nil {
		return
	}
	ctx, cancel := context.WithCancel(u.running)
	u.stopWatch = cancel
	u.listenOutbox()
	u.sent.watch(ctx)
}

// listenOutbox follows the outbox while the app runs: every change
// refreshes the Sent tab (off the UI goroutine) and may notify the user.
// (Tests, which drive the UI from their own goroutine, reload by hand.)
func (u *UI) listenOutbox() {
	ob := u.cfg.Outbox
	if ob == nil {
		return
	}
	u.listening.Store(true)
	if ob.Events != nil {
		ob.Events.set(func(r outbox.Record) {
			u.sent.announce(r)
			fyne.Do(u.sent.reload)
		})
	}
	u.sent.reload()
}

// onDropped routes dropped files: .eml files open in the Inbox, everything
// else is added to the Send tab.
func (u *UI) onDropped(_ fyne.Position, uris []fyne.URI) {
	var docs []string
	for _, uri := range uris {
		if uri.Scheme() != "file" {
			continue
		}
		if strings.EqualFold(uri.Extension(), ".eml") {
			u.tabs.Select(u.inbox.item)
			u.inbox.openFile(uri.Path())
			continue
		}
		docs = append(docs, uri.Path())
	}
	if len(docs) > 0 {
		u.tabs.Select(u.send.item)
		u.send.addPaths(docs)
	}
}

// OpenFiles opens files as dropping them onto the window does: received
// messages (.eml) are verified and shown in the Inbox, other files are
// added to the Send tab ("securesend FILE.eml", a double-clicked message).
// Call it on the UI goroutine.
func (u *UI) OpenFiles(paths []string) {
	uris := make([]fyne.URI, 0, len(paths))
	for _, p := range paths {
		uris = append(uris, storage.NewFileURI(p))
	}
	u.onDropped(fyne.Position{}, uris)
}

// shortcut is a key with Ctrl (Cmd on a Mac).
func shortcut(key fyne.KeyName) fyne.Shortcut {
	return &desktop.CustomShortcut{KeyName: key, Modifier: fyne.KeyModifierShortcutDefault}
}

// shortcuts are the app's keyboard shortcuts as the Help menu lists them.
var shortcuts = [][2]string{
	{"Ctrl+Enter", "Send securely (you check what is sent, then Enter sends)"},
	{"Ctrl+O", "Add documents"},
	{"Ctrl+1 … Ctrl+4", "Send, Sent, Inbox, Settings"},
	{"Ctrl+Tab, Ctrl+Shift+Tab", "Next tab, previous tab"},
	{"Tab, Shift+Tab", "Next field, previous field (also out of the Note)"},
	{"Enter", "Press the focused button; in the To or NHI field: Send securely"},
	{"Space", "Press the focused button, tick the focused box"},
	{"Escape", "Go back from the check before sending"},
}

// mainMenu is the window's menu. Its shortcuts work wherever the focus
// is, also in a text field.
func (u *UI) mainMenu() *fyne.MainMenu {
	// A shortcut does nothing while a dialog is open (UI.showDialog): it
	// would switch tabs, open a file chooser or send behind it.
	item := func(label string, sc fyne.Shortcut, fn func()) *fyne.MenuItem {
		it := fyne.NewMenuItem(label, func() {
			if len(u.dialogs) == 0 {
				fn()
			}
		})
		it.Shortcut = sc
		return it
	}
	sendItems := []*fyne.MenuItem{
		item("Add documents…", shortcut(fyne.KeyO), func() {
			u.tabs.Select(u.send.item)
			u.send.openFileDialog()
		}),
		item("Send securely…", shortcut(fyne.KeyReturn), u.sendShortcut),
		item("Send securely… (keypad Enter)", shortcut(fyne.KeyEnter), u.sendShortcut),
	}
	var tabItems []*fyne.MenuItem
	for i, key := range []fyne.KeyName{fyne.Key1, fyne.Key2, fyne.Key3, fyne.Key4} {
		label := fmt.Sprintf("Tab %d", i+1)
		if i < len(u.tabs.Items) {
			label = strings.Fields(u.tabs.Items[i].Text)[0] + " tab"
		}
		tabItems = append(tabItems, item(label, shortcut(key), func() {
			if i < len(u.tabs.Items) {
				u.selectTab(i)
			}
		}))
	}
	tabItems = append(tabItems,
		fyne.NewMenuItemSeparator(),
		item("Next tab", &desktop.CustomShortcut{KeyName: fyne.KeyTab, Modifier: fyne.KeyModifierControl}, func() { u.selectTab(u.tabs.SelectedIndex() + 1) }),
		item("Previous tab", &desktop.CustomShortcut{KeyName: fyne.KeyTab, Modifier: fyne.KeyModifierControl | fyne.KeyModifierShift}, func() { u.selectTab(u.tabs.SelectedIndex() - 1) }),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Show or hide the demo explanation", u.toggleDemoExplanation),
	)
	help := fyne.NewMenu("Help",
		fyne.NewMenuItem("Keyboard shortcuts", u.showShortcuts),
	)
	return fyne.NewMainMenu(fyne.NewMenu("Send", sendItems...), fyne.NewMenu("Go", tabItems...), help)
}

// selectTab shows tab i (wrapping around) and puts the focus on its first
// control, so that Tab goes on from there. While a dialog is open it does
// nothing: the dialog would stay over another tab than the one it asks
// about, or its answer act on a tab the user no longer sees.
func (u *UI) selectTab(i int) {
	n := len(u.tabs.Items)
	if n == 0 || len(u.dialogs) > 0 {
		return
	}
	i = ((i % n) + n) % n
	u.tabs.SelectIndex(i)
	c := u.win.Canvas()
	c.Unfocus()
	switch u.tabs.Items[i] {
	case u.send.item:
		if u.send.confirm.root.Visible() {
			c.Focus(u.send.confirm.another)
		} else {
			c.Focus(u.send.to)
		}
	case u.sent.item:
		if u.sent.search != nil {
			c.Focus(u.sent.search)
		}
	case u.inbox.item:
		c.Focus(u.inbox.search)
	case u.settings.item:
		u.settings.focusFirst()
	default:
		c.FocusNext()
	}
}

// sendShortcut is Ctrl+Enter: Send securely on the Send tab (from any
// tab it goes there first), or Send now when the check step shows.
func (u *UI) sendShortcut() {
	u.tabs.Select(u.send.item)
	if u.send.check.Visible() {
		u.send.onSend()
		return
	}
	u.send.requestSend()
}

// onTypedKey handles keys nothing focused took: Escape closes the dialog
// on top, or else leaves the check step.
func (u *UI) onTypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape && u.dismissTopDialog() {
		return
	}
	if ev.Name == fyne.KeyEscape && u.send.check.Visible() {
		u.send.cancelCheck()
	}
}

// showShortcuts lists the keyboard shortcuts (Help menu).
func (u *UI) showShortcuts() {
	form := widget.NewForm()
	for _, s := range shortcuts {
		form.Append(s[0], &widget.Label{Text: s[1], Wrapping: fyne.TextWrapWord})
	}
	d, _ := u.askDialog("Keyboard shortcuts", form, "Close", "", nil)
	d.Resize(fyne.NewSize(min(640, u.win.Canvas().Size().Width-40), 420))
	u.showDialog(d)
}

// demoTitle is the demo banner's title, its one line on a low window.
const demoTitle = "Demo mode: nothing leaves this computer."

// demoExplanation is what the demo banner's More shows.
const demoExplanation = "Messages go to a practice and a pharmacy mailbox that run inside this app, encrypted on the way just as real mail is. To send for real, add your practice's mail account under Settings: the app switches to it at once."

// demoBanner says plainly that this is a demo and nothing leaves the
// machine.
func demoBanner() (*fyne.Container, *focusButton) {
	return collapsibleBanner(theme.InfoIcon(), theme.ColorNamePrimary, demoTitle, demoExplanation)
}

// toggleDemoExplanation is the Go menu's "Show or hide the demo
// explanation": the banner's More/Less while the full banner shows; on a
// low window, where the banner is one line with no room to unfold, a
// dialog with the explanation (and nothing outside demo mode).
func (u *UI) toggleDemoExplanation() {
	if !u.cfg.Demo || u.bannerToggle == nil {
		return
	}
	if u.bannerFit == nil || !u.bannerFit.small {
		u.bannerToggle.OnTapped()
		return
	}
	text := &widget.Label{Text: demoExplanation, Wrapping: fyne.TextWrapWord}
	d, _ := u.askDialog(demoTitle, newFitColumn(text), "Close", "", nil)
	// As wide as the window allows, as high as the text needs there.
	d.Resize(fyne.NewSize(min(480, u.win.Canvas().Size().Width-16), 1))
	u.showDialog(d)
}

// setLow folds the tabs' headings away on a window lower than
// compactBannerBelow (an 800×600 screen at 200% scaling), and back.
func (u *UI) setLow(low bool) {
	u.low = low
	u.send.setLow(low)
	u.sent.setLow(low)
	u.inbox.setLow(low)
}
