package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
)

// reload asks Config.Reload for the configuration as it is now (off the
// UI goroutine) and switches to it (on the UI goroutine). Reloads run one
// after the other, in the order asked for.
func (u *UI) reload() {
	fn := u.cfg.Reload
	if fn == nil {
		return
	}
	go func() {
		u.reloadMu.Lock()
		defer u.reloadMu.Unlock()
		cfg, err := fn()
		done := make(chan struct{})
		fyne.Do(func() {
			defer close(done)
			if err != nil {
				u.reloadFailed(err)
			} else {
				u.apply(cfg)
			}
			if u.reloadDone != nil {
				u.reloadDone()
			}
		})
		<-done
	}()
}

// reloadFailed says on the Settings tab that the change could not be
// taken into use.
func (u *UI) reloadFailed(err error) {
	msg := "The app could not switch to the changed settings: " + sentence(err.Error())
	if a := u.settings.accounts; a != nil {
		a.status.SetText(joinLines(a.status.Text, msg))
	} else if k := u.settings.keys; k != nil {
		k.status.SetText(joinLines(k.status.Text, msg))
	}
}

func joinLines(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n" + b
}

// apply switches the app to n on the UI goroutine: the parts of the
// configuration that follow the account and keys are replaced one by one
// (goroutines under way keep the functions they were started with), and
// every tab shows the new state.
func (u *UI) apply(n Config) {
	old := u.cfg
	// What the Send tab's picker shows now, to pick the same recipient
	// again afterwards.
	picked := u.send.pickedAddress()

	c := &u.cfg
	c.Demo, c.From, c.Recipients, c.EncryptionRequired = n.Demo, n.From, n.Recipients, n.EncryptionRequired
	c.Send, c.InboxOwner, c.Fetch, c.Document, c.Verify = n.Send, n.InboxOwner, n.Fetch, n.Document, n.Verify
	c.Failures, c.OpenFile, c.Acknowledge = n.Failures, n.OpenFile, n.Acknowledge
	c.Samples, c.Protection, c.Settings, c.Account, c.OwnKey = n.Samples, n.Protection, n.Settings, n.Account, n.OwnKey

	title := "securesend"
	if n.Demo {
		title += " — demo mode"
		u.banner.Show()
	} else {
		u.banner.Hide()
	}
	u.win.SetTitle(title)

	if n.Outbox != old.Outbox {
		u.switchOutbox(old.Outbox, n.Outbox)
	}
	u.send.applyConfig(picked)
	mailboxChanged := old.Account != n.Account || old.InboxOwner != n.InboxOwner || old.Demo != n.Demo
	u.inbox.applyConfig(mailboxChanged)
	u.settings.applyConfig()
	// (u.settings.applyConfig has the form to create a key follow the
	// account, unless edited: keysSection.followAccount.)
	if a := u.settings.accounts; a != nil && old.Account != n.Account {
		a.relist() // mark the account in use
		switch {
		case n.Account == "":
			a.status.SetText(joinLines(a.status.Text, "No mail account is left, so the app is in demo mode again."))
		case old.Account == "":
			a.status.SetText(joinLines(a.status.Text, "Demo mode has ended: the app now sends and receives with account "+n.Account+"."))
		default:
			a.status.SetText(joinLines(a.status.Text, "The app now sends and receives with account "+n.Account+"."))
		}
	}
	u.win.Content().Refresh()
}

// switchOutbox stops following the outbox that was in use and follows
// the new one; the Sent tab lists the new one (and is there only when
// there is an outbox).
func (u *UI) switchOutbox(old, n *OutboxConfig) {
	if old != nil && old.Events != nil {
		old.Events.set(nil)
	}
	if u.stopWatch != nil {
		u.stopWatch()
		u.stopWatch = nil
	}
	u.listening.Store(false)
	u.cfg.Outbox = n
	u.sent.recs, u.sent.selected = nil, ""
	if u.sent.list != nil {
		u.sent.list.UnselectAll()
		u.sent.list.Refresh()
		u.sent.detail.RemoveAll()
		u.sent.setButtons(nil)
	}
	has := false
	for _, it := range u.tabs.Items {
		if it == u.sent.item {
			has = true
		}
	}
	switch {
	case n == nil && has:
		u.tabs.Remove(u.sent.item)
	case n != nil && !has:
		items := append([]*container.TabItem{u.tabs.Items[0], u.sent.item}, u.tabs.Items[1:]...)
		u.tabs.SetItems(items)
	}
	u.sent.item.Text = "Sent"
	u.followOutbox()
}
