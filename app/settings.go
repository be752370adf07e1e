package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// settingsTab shows the account in use and the preferences. Locked
// settings (fixed by the organisation's policy) are marked and not
// editable.
type settingsTab struct {
	ui    *UI
	item  *container.TabItem
	form  *widget.Form
	intro *widget.Label
	// keys and accounts are shown when the configuration has them.
	keys     *keysSection
	accounts *accountsSection
}

// newSettingsTab makes the tab; its content is built when it is first
// shown (ensureBuilt), which keeps startup short.
func newSettingsTab(u *UI) *settingsTab {
	t := &settingsTab{ui: u}
	t.item = container.NewTabItemWithIcon("Settings", theme.SettingsIcon(), container.NewStack())
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
	t.fill()
	content := container.NewVBox(
		heading("Account"),
		t.intro,
		t.form,
	)
	if t.ui.cfg.Accounts != nil {
		t.accounts = newAccountsSection(t.ui, t.ui.cfg.Accounts)
		content.Add(widget.NewSeparator())
		content.Add(t.accounts.root)
	}
	if t.ui.cfg.Keys != nil {
		t.keys = newKeysSection(t.ui, t.ui.cfg.Keys)
		content.Add(widget.NewSeparator())
		content.Add(t.keys.root)
	}
	stack := t.item.Content.(*fyne.Container)
	stack.Objects = []fyne.CanvasObject{container.NewVScroll(container.NewPadded(content))}
	stack.Refresh()
}

// fill shows the account in use and the settings as the configuration
// says now.
func (t *settingsTab) fill() {
	t.form.Items = nil
	t.form.Append("Sending as", &widget.Label{Text: displayAddress(t.ui.cfg.From), Wrapping: fyne.TextWrapBreak})
	t.form.Append("Home folder", &widget.Label{Text: t.ui.cfg.Home.Dir, Wrapping: fyne.TextWrapBreak, Selectable: true})
	for _, s := range t.ui.cfg.Settings {
		t.form.Append(s.Name, settingValue(s))
	}
	t.form.Refresh()
	intro := "These settings come from your account and your organisation's profile."
	if t.ui.cfg.Demo {
		intro = "Demo mode: the mail system below runs inside this app and disappears when you close it. Its password was made for this session and is kept in memory only."
	}
	t.intro.SetText(intro)
}

// applyConfig shows the configuration after a reload (when the tab has
// been built; otherwise it is built from it when first shown).
func (t *settingsTab) applyConfig() {
	if t.form != nil {
		t.fill()
	}
}

// settingValue shows a setting; a locked one as a disabled entry with a
// lock note, so it is visibly not editable.
func settingValue(s Setting) fyne.CanvasObject {
	if !s.Locked {
		return &widget.Label{Text: s.Value, Wrapping: fyne.TextWrapBreak, Selectable: true}
	}
	note := s.LockNote
	if note == "" {
		note = "Locked by your organisation"
	}
	e := widget.NewEntry()
	e.SetText(s.Value)
	e.Disable()
	return container.NewBorder(nil, nil, nil,
		container.NewHBox(widget.NewIcon(lockIcon), &widget.Label{Text: note}), e)
}
