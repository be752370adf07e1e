package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Section titles of the Settings tab, as its navigation lists them.
const (
	sectionOwnKey   = "Your key"
	sectionAccounts = "Mail accounts"
	sectionKeys     = "Correspondents' keys"
	sectionWatch    = "Deliver as they arrive"
)

// ownKeySetting is the name of the Settings row the front end adds for the
// user's key. The Your key section is the one place that shows the key,
// so the row is not listed a second time among the account's settings.
const ownKeySetting = "Your key"

// settingsTab shows the settings in sections, one at a time, chosen from
// a list of buttons on the left that Tab and Enter reach: the user's key,
// the mail accounts (the one in use and the organisation's settings
// first), correspondents' keys and the delivery of verified documents as
// they arrive. Locked settings (fixed by the organisation's policy) are
// marked and not editable.
type settingsTab struct {
	ui    *UI
	item  *container.TabItem
	form  *widget.Form
	intro *widget.Label
	// keys, accounts and watch are shown when the configuration has them.
	keys     *keysSection
	accounts *accountsSection
	watch    *watchSection

	// ownInUse says which key signs what is sent now, when the Keys
	// store does not (demo mode, or no store).
	ownInUse *widget.Label
	sections []*settingsSection
	nav      *fyne.Container // the section buttons
	pane     *fyne.Container // the section shown
	// pick chooses the section instead of nav on a narrow window
	// (settingsLayout).
	pick    *widget.Select
	current *settingsSection
}

// settingsSection is one section of the Settings tab.
type settingsSection struct {
	title   string
	content fyne.CanvasObject
	// status, when set, is shown under the section, outside its scroll,
	// so that what an action did is always in sight.
	status *widget.Label
	button *focusButton
}

// newSettingsTab makes the tab; its content is built when it is first
// shown (ensureBuilt), which keeps startup short.
func newSettingsTab(u *UI) *settingsTab {
	t := &settingsTab{ui: u}
	t.item = container.NewTabItemWithIcon("Settings", theme.SettingsIcon(), container.NewStack())
	if u.cfg.Watch != nil {
		// Made now, not when the tab is first shown: a watch the user
		// left on runs from the start.
		t.watch = newWatchSection(u)
	}
	return t
}

func (t *settingsTab) tabItem() *container.TabItem { return t.item }

// ensureBuilt builds the content the first time the tab is shown.
func (t *settingsTab) ensureBuilt() {
	if t.form == nil {
		t.buildUI()
	}
}

func (t *settingsTab) buildUI() {
	t.form = widget.NewForm()
	t.intro = &widget.Label{Wrapping: fyne.TextWrapWord}
	t.ownInUse = &widget.Label{Wrapping: fyne.TextWrapWord}
	if t.ui.cfg.Keys != nil {
		t.keys = newKeysSection(t.ui, t.ui.cfg.Keys)
	}
	if t.ui.cfg.Accounts != nil {
		t.accounts = newAccountsSection(t.ui, t.ui.cfg.Accounts)
	}
	t.fill()

	own := container.NewVBox(heading(sectionOwnKey), t.ownInUse)
	var ownStatus, keysStatus *widget.Label
	if t.keys != nil {
		own.Add(t.keys.ownRoot)
		ownStatus, keysStatus = t.keys.status, t.keys.status
	}
	t.add(sectionOwnKey, own, ownStatus)
	acc := container.NewVBox(heading("Account in use"), t.intro, t.form)
	var accStatus *widget.Label
	if t.accounts != nil {
		acc.Add(widget.NewSeparator())
		acc.Add(t.accounts.root)
		accStatus = t.accounts.status
	}
	t.add(sectionAccounts, acc, accStatus)
	if t.keys != nil {
		t.add(sectionKeys, t.keys.correspondents, keysStatus)
	}
	if t.watch != nil {
		t.add(sectionWatch, t.watch.root, nil)
	}

	t.pane = container.NewStack()
	t.pick = t.newSectionPick()
	// The buttons beside the section, or a choice above it on a narrow
	// window (settingsfit.go).
	split := container.New(&settingsLayout{t: t},
		container.NewHBox(container.NewPadded(t.nav), widget.NewSeparator()), t.pick, t.pane)
	stack := t.item.Content.(*fyne.Container)
	stack.Objects = []fyne.CanvasObject{split}
	t.show(t.sections[0])
	stack.Refresh()
}

// add appends a section and its button in the navigation.
func (t *settingsTab) add(title string, content fyne.CanvasObject, status *widget.Label) {
	s := &settingsSection{title: title, content: content, status: status}
	s.button = newButton(title, nil, widget.LowImportance, func() { t.show(s) })
	s.button.Alignment = widget.ButtonAlignLeading
	if t.nav == nil {
		t.nav = container.NewVBox()
	}
	t.nav.Add(s.button)
	t.sections = append(t.sections, s)
}

// show shows section s and marks its button as the one chosen.
func (t *settingsTab) show(s *settingsSection) {
	t.current = s
	for _, o := range t.sections {
		imp := widget.LowImportance
		if o == s {
			imp = widget.HighImportance
		}
		if o.button.Importance != imp {
			o.button.Importance = imp
			o.button.Refresh()
		}
	}
	if t.pick != nil {
		t.pick.SetSelected(s.title)
	}
	var bottom fyne.CanvasObject
	if s.status != nil {
		bottom = container.NewPadded(s.status)
	}
	// Scrolls both ways: at 150% or 200% on a small screen a section may
	// be wider than what is left beside the navigation.
	t.pane.Objects = []fyne.CanvasObject{container.NewBorder(nil, bottom, nil, nil,
		container.NewScroll(container.NewPadded(s.content)))}
	t.pane.Refresh()
}

// focusFirst puts the keyboard focus on the button of the section shown,
// so that Tab goes on from there (the section buttons come first).
func (t *settingsTab) focusFirst() {
	t.ensureBuilt()
	if t.current != nil {
		t.ui.win.Canvas().Focus(t.current.button)
	}
}

// showSection shows the section with the given title (e.g. after an
// action elsewhere leads there); false when there is none.
func (t *settingsTab) showSection(title string) bool {
	t.ensureBuilt()
	for _, s := range t.sections {
		if s.title == title {
			t.show(s)
			return true
		}
	}
	return false
}

// fill shows the account in use and the settings as the configuration
// says now, and which key signs what is sent.
func (t *settingsTab) fill() {
	t.form.Items = nil
	t.form.Append("Sending as", &widget.Label{Text: displayAddress(t.ui.cfg.From), Wrapping: fyne.TextWrapWord})
	t.form.Append("Home folder", &widget.Label{Text: t.ui.cfg.Home.Dir, Wrapping: fyne.TextWrapBreak, Selectable: true})
	for _, s := range t.ui.cfg.Settings {
		if s.Name == ownKeySetting {
			continue // the Your key section shows it
		}
		t.form.Append(s.Name, settingValue(s))
	}
	t.form.Refresh()
	intro := "These settings come from your account and your organisation's profile."
	if t.ui.cfg.Demo {
		intro = "Demo mode: the mail system below runs inside this app and disappears when you close it. Its password was made for this session and is kept in memory only."
	}
	t.intro.SetText(intro)
	t.ownInUse.SetText(t.ownKeyText())
	if t.ownInUse.Text == "" {
		t.ownInUse.Hide()
	} else {
		t.ownInUse.Show()
	}
	if t.keys != nil {
		t.keys.followAccount()
	}
}

// ownKeyText says which key signs what is sent when the key store below
// does not show it: in demo mode a key made for the session; without a
// key store the configuration's key. "" when the store's key is the one.
func (t *settingsTab) ownKeyText() string {
	cfg := t.ui.cfg
	switch {
	case cfg.Demo && cfg.OwnKey != "":
		s := "In demo mode what you send is signed with a key made for this session, fingerprint " + cfg.OwnKey + ". It is forgotten when you close the app."
		if t.keys != nil {
			s += " Your own key, below, is the one used once you add your mail account."
		}
		return s
	case t.keys != nil:
		return ""
	case cfg.OwnKey != "":
		return "What you send is signed with your key, fingerprint " + cfg.OwnKey + "."
	}
	return "You have no key, so what you send is not signed."
}

// applyConfig shows the configuration after a reload (when the tab has
// been built; otherwise it is built from it when first shown).
func (t *settingsTab) applyConfig() {
	if t.form != nil {
		t.fill()
	}
	if t.keys != nil {
		t.keys.refresh() // the correspondents the To field offers now
	}
	if t.watch != nil {
		t.watch.accountChanged()
	}
}

// settingValue shows a setting; a locked one as a disabled entry with a
// lock note, so it is visibly not editable.
func settingValue(s Setting) fyne.CanvasObject {
	if !s.Locked {
		return &widget.Label{Text: s.Value, Wrapping: fyne.TextWrapWord, Selectable: true}
	}
	note := s.LockNote
	if note == "" {
		note = "Locked by your organisation"
	}
	e := newEntry(false, "") // the mouse wheel over it scrolls the page
	e.SetText(s.Value)
	e.Disable()
	return container.NewBorder(nil, nil, nil,
		container.NewHBox(widget.NewIcon(lockIcon), &widget.Label{Text: note}), e)
}
