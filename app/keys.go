package app

import (
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/termsafe"
)

// KeysConfig gives the Settings tab the user's OpenPGP key store (the
// one 'securesend keys' uses).
type KeysConfig struct {
	Store KeyStore
	// Changed, when set, is called after a key was generated ("generate"),
	// imported ("import") or pinned ("pin"). It runs off the UI goroutine.
	Changed func(what string, e pgp.Entry)
	// Note, when set, is shown above the keys (e.g. in demo mode, that
	// these are the user's real keys).
	Note string
	// Correspondents, when set, returns the key store whose
	// correspondents the Send tab's To field offers now
	// (desk.Setup.ManageKeys: the demo's in demo mode). The
	// Correspondents' keys section lists, imports and pins there, so that
	// it shows the keys the To field offers; Store when nil.
	Correspondents func() (KeyStore, error)
}

// KeyStore is what the Settings tab does with keys: desk.KeyManager,
// which records imports and pins in the audit log, or (tests) a
// *pgp.Store.
type KeyStore interface {
	List() ([]pgp.Entry, error)
	Own() (pgp.Entry, error)
	Entry(fpr pgp.Fingerprint) (pgp.Entry, error)
	Public(fpr pgp.Fingerprint) (*pgp.PublicKey, error)
	Generate(name, email string) (pgp.Entry, error)
	Import(r io.Reader, opts pgp.ImportOptions) (pgp.Entry, error)
	ImportSecret(r io.Reader, passphrase []byte) (pgp.Entry, error)
	PinAddresses(fpr pgp.Fingerprint, addrs []string, replace bool) error
}

// keysSection is the Settings tab's part about keys: the user's own key
// (generate, fingerprint, export) and correspondents' keys (import,
// compare the fingerprint, pin).
type keysSection struct {
	ui  *UI
	cfg *KeysConfig

	// ownRoot is the Your key section; correspondents the section about
	// correspondents' keys. status serves both.
	ownRoot        *fyne.Container
	correspondents *fyne.Container
	own            *fyne.Container // the user's key, or how to make one
	name           *focusEntry
	email          *focusEntry
	// filled is what followAccount last put in name and email.
	filled    mail.Address
	genBtn    *focusButton
	exportBtn *focusButton
	compare   *fyne.Container // the fingerprint to compare before pinning
	list      *fyne.Container // correspondents' keys
	// demoNote says, in demo mode, whose keys the list shows.
	demoNote *widget.Label
	status   *widget.Label

	// pending is the key whose fingerprint is shown for comparison.
	pending *pgp.Entry

	mu   sync.Mutex // one store operation at a time (the store has no locking)
	busy bool
	// done, when set (tests), is called on the UI goroutine after each
	// key operation has been shown.
	done func()
}

func newKeysSection(u *UI, cfg *KeysConfig) *keysSection {
	k := &keysSection{ui: u, cfg: cfg}
	k.buildUI()
	return k
}

func (k *keysSection) buildUI() {
	k.own = container.NewVBox()
	k.name = newEntry(false, "Your name, e.g. Dr Jane Smith, Harbour Medical Centre")
	k.email = newEntry(false, "your e-mail address, e.g. jane.smith@harbourmedical.co.nz")
	k.followAccount()
	k.genBtn = newButton("Create my key", theme.ContentAddIcon(), widget.MediumImportance, k.onGenerate)
	k.compare = container.NewVBox()
	k.list = container.NewVBox()
	k.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	k.exportBtn = newButton("Export my public key…", theme.DocumentSaveIcon(), widget.MediumImportance, k.onExport)
	k.exportBtn.Disable() // until the store shows a key of the user's
	importBtn := newButton("Import a correspondent's key…", theme.FolderOpenIcon(), widget.MediumImportance, k.onImport)
	importOwnBtn := newButton("Import my existing key…", theme.FolderOpenIcon(), widget.MediumImportance, k.onImportOwn)
	note := &widget.Label{Text: k.cfg.Note, Wrapping: fyne.TextWrapWord, Importance: widget.LowImportance}
	if k.cfg.Note == "" {
		note.Hide()
	}
	k.ownRoot = container.NewVBox(
		&widget.Label{Text: "Your key signs what you send (so recipients can tell it is from you and unaltered) and decrypts what is sent to you. Its secret part is locked on this computer; the passphrase is in the system keychain.", Wrapping: fyne.TextWrapWord},
		k.own,
		note,
		widget.NewForm(widget.NewFormItem("Name", k.name), widget.NewFormItem("E-mail", k.email)),
		newFitColumn(container.NewHBox(k.genBtn, importOwnBtn), container.NewHBox(k.exportBtn)),
	)
	k.demoNote = &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.LowImportance,
		Text: "Demo mode: these are the demo's correspondents, the keys the To field offers. A key you import here lasts for this demo session only."}
	k.demoNote.Hide()
	k.correspondents = container.NewVBox(
		heading("Correspondents' keys"),
		k.demoNote,
		&widget.Label{Text: "Import the public key a pharmacy or practice gave you. Before relying on it, compare its fingerprint with them by phone or in person, then pin it.", Wrapping: fyne.TextWrapWord},
		container.NewHBox(importBtn),
		k.compare,
		k.list,
	)
	k.refresh()
}

// followAccount fills the form to create a key with the name and address
// of the account in use while the user has not typed their own. In demo
// mode it stays empty: the demo's identity is not the user's.
func (k *keysSection) followAccount() {
	from := k.ui.cfg.From
	if k.ui.cfg.Demo {
		from.Name, from.Address = "", ""
	}
	if k.name.Text == k.filled.Name {
		k.name.SetText(from.Name)
	}
	if k.email.Text == k.filled.Address {
		k.email.SetText(from.Address)
	}
	k.filled = from
}

// start runs op off the UI goroutine unless another key operation is
// under way, lists the store again, then runs the function op returned on
// the UI goroutine, and has the app take the keys as they are now into
// use (UI.reload: the Settings rows, the Send tab's signing key and
// recipients).
func (k *keysSection) start(working string, op func() (show func())) {
	k.mu.Lock()
	if k.busy {
		k.mu.Unlock()
		k.status.SetText("Please wait: the previous key operation is still running.")
		return
	}
	k.busy = true
	k.mu.Unlock()
	k.status.SetText(working)
	go func() {
		show := op()
		l := k.listKeys()
		fyne.Do(func() {
			k.mu.Lock()
			k.busy = false
			k.mu.Unlock()
			k.showEntries(l)
			if show != nil {
				show()
			}
			k.ui.reload()
			if k.done != nil {
				k.done()
			}
		})
	}()
}

// refresh lists the stores again (small index files).
func (k *keysSection) refresh() {
	k.showEntries(k.listKeys())
}

// keyListing is the user's key store listed (own) and the store of the
// correspondents the To field offers (peers); the same listing when they
// are one store.
type keyListing struct {
	own, peers       []pgp.Entry
	ownErr, peersErr error
	// demo: the peers are the demo's, not the user's store.
	demo bool
}

// peers is the key store of the correspondents the To field offers now.
func (k *keysSection) peers() (KeyStore, error) {
	if k.cfg.Correspondents == nil {
		return k.cfg.Store, nil
	}
	return k.cfg.Correspondents()
}

// listKeys lists the user's keys and the correspondents' (it reads the
// stores: off the UI goroutine but at the section's start).
func (k *keysSection) listKeys() keyListing {
	var l keyListing
	l.own, l.ownErr = k.cfg.Store.List()
	ps, err := k.peers()
	switch {
	case err != nil:
		l.peersErr = err
	case ps == k.cfg.Store:
		l.peers, l.peersErr = l.own, l.ownErr
	default:
		l.peers, l.peersErr = ps.List()
		l.demo = k.ui.cfg.Demo
	}
	return l
}

func (k *keysSection) showEntries(l keyListing) {
	k.own.RemoveAll()
	k.list.RemoveAll()
	k.demoNote.Hidden = !l.demo
	if l.peersErr != nil {
		k.list.Add(&widget.Label{Text: "The correspondents' keys could not be read: " + sentence(l.peersErr.Error()), Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance})
	} else {
		k.showPeers(l.peers)
	}
	if l.ownErr != nil {
		k.own.Add(&widget.Label{Text: "The key store could not be read: " + sentence(l.ownErr.Error()), Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance})
		return
	}
	hasOwn := false
	for _, e := range l.own {
		if e.Secret {
			if !hasOwn {
				k.own.Add(fingerprintBox(theme.AccountIcon(), "Your key ("+keyLabel(strings.Join(e.UserIDs, ", "))+")", e.Fingerprint))
			}
			hasOwn = true
		}
	}
	if !hasOwn {
		if k.ui.cfg.Demo {
			// The demo signs with its session's key (said above): "not
			// signed" here contradicted it.
			k.own.Add(&widget.Label{Text: "You have no key of your own yet. Create it here before you add your mail account: enter your name and address below.", Wrapping: fyne.TextWrapWord})
		} else {
			k.own.Add(&widget.Label{Text: "You have no key yet, so what you send is not signed. Enter your name and address below and create one.", Wrapping: fyne.TextWrapWord, Importance: widget.WarningImportance})
		}
		k.genBtn.SetText("Create my key")
		k.exportBtn.Disable()
	} else {
		k.genBtn.SetText("Create a new key")
		k.exportBtn.Enable()
	}
}

// showPeers lists the correspondents' keys of entries (the public ones).
func (k *keysSection) showPeers(entries []pgp.Entry) {
	for _, e := range entries {
		if e.Secret {
			continue
		}
		state := "Pinned: you compared the fingerprint"
		icon := theme.ConfirmIcon()
		var action fyne.CanvasObject
		if e.Trust != pgp.Pinned {
			state = "Not verified yet: compare the fingerprint, then pin"
			icon = theme.WarningIcon()
			action = &widget.Button{Text: "Compare and pin…", Icon: theme.VisibilityIcon(), OnTapped: func() { k.showCompare(e) }}
		}
		who := keyLabel(strings.Join(e.Emails, ", "))
		if len(e.Emails) == 0 {
			who = "No address confirmed yet (the key claims " + keyLabel(strings.Join(e.Claimed, ", ")) + ")"
		}
		text := container.NewVBox(
			&widget.Label{Text: who + " — " + state, TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord},
			&widget.Label{Text: e.Fingerprint.Grouped(), TextStyle: fyne.TextStyle{Monospace: true}, Selectable: true},
		)
		k.list.Add(container.NewBorder(nil, nil, widget.NewIcon(icon), action, text))
	}
	if len(k.list.Objects) == 0 {
		k.list.Add(&widget.Label{Text: "No correspondents' keys yet."})
	}
}

// fingerprintBox shows a fingerprint in groups of four, large enough to
// read out over the phone.
func fingerprintBox(icon fyne.Resource, title string, fpr pgp.Fingerprint) fyne.CanvasObject {
	return container.NewBorder(nil, nil, widget.NewIcon(icon), nil, container.NewVBox(
		&widget.Label{Text: title, TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord},
		&widget.Label{Text: "Fingerprint: " + fpr.Grouped(), TextStyle: fyne.TextStyle{Monospace: true}, SizeName: theme.SizeNameSubHeadingText, Selectable: true},
	))
}

func (k *keysSection) onGenerate() {
	name, email := strings.TrimSpace(k.name.Text), strings.TrimSpace(k.email.Text)
	if name == "" || !strings.Contains(email, "@") {
		k.status.SetText("Enter your name and your e-mail address first.")
		return
	}
	k.start("Creating your key…", func() func() {
		e, err := k.cfg.Store.Generate(name, email)
		if err == nil && k.cfg.Changed != nil {
			k.cfg.Changed("generate", e)
		}
		return func() {
			if err != nil {
				k.status.SetText("Your key could not be created: " + sentence(err.Error()))
				return
			}
			k.status.SetText("Your key is ready. Export your public key and give it to your correspondents; read them its fingerprint.")
		}
	})
}

func (k *keysSection) onExport() {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		k.exportTo(w, w.URI().Name())
	}, k.ui.win)
	d.SetFileName("my-public-key.asc")
	k.ui.showDialog(d)
}

// exportTo writes the user's public key, armored, to w and closes it.
func (k *keysSection) exportTo(w io.WriteCloser, name string) {
	k.start("Exporting…", func() func() {
		err := func() error {
			own, err := k.cfg.Store.Own()
			if err != nil {
				return fmt.Errorf("you have no key yet; create one first")
			}
			pub, err := k.cfg.Store.Public(own.Fingerprint)
			if err != nil {
				return err
			}
			return pub.WriteArmored(w)
		}()
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		return func() {
			if err != nil {
				k.status.SetText("Not exported: " + sentence(err.Error()))
				return
			}
			k.status.SetText("Saved your public key as " + name + ". It holds no secret: send it to your correspondents.")
		}
	})
}

func (k *keysSection) onImport() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		k.importFile(path)
	}, k.ui.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".asc", ".pgp", ".gpg", ".key", ".txt"}))
	d.Resize(fyne.NewSize(800, 560))
	k.ui.showDialog(d)
}

// importFile imports a correspondent's public key, unverified, and shows
// its fingerprint to compare.
func (k *keysSection) importFile(path string) {
	k.start("Importing…", func() func() {
		var e pgp.Entry
		ps, err := k.peers()
		var f *os.File
		if err == nil {
			f, err = os.Open(path)
		}
		if err == nil {
			e, err = ps.Import(f, pgp.ImportOptions{})
			f.Close()
		}
		if err == nil && k.cfg.Changed != nil {
			k.cfg.Changed("import", e)
		}
		return func() {
			if err != nil {
				k.status.SetText("Not imported: " + sentence(err.Error()))
				return
			}
			k.status.SetText("Imported the key of " + keyLabel(strings.Join(e.UserIDs, ", ")) + ".")
			if e.Trust != pgp.Pinned {
				k.showCompare(e)
			}
		}
	})
}

// onImportOwn imports the user's existing secret key (e.g. exported from
// GnuPG) after asking for its passphrase.
func (k *keysSection) onImportOwn() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		pass := newEntry(false, "") // Escape closes the dialog
		pass.Password = true
		k.ui.showDialog(k.ui.askForm("Import your key",
			[]*widget.FormItem{widget.NewFormItem("Its passphrase", pass)},
			"Cancel", "Import", func() { k.importOwnFile(path, pass.Text) }))
	}, k.ui.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".asc", ".pgp", ".gpg", ".key", ".txt"}))
	d.Resize(fyne.NewSize(800, 560))
	k.ui.showDialog(d)
}

// importOwnFile imports the user's secret key from path, unlocked with
// passphrase; it is then locked with a new passphrase kept in the
// keychain.
func (k *keysSection) importOwnFile(path, passphrase string) {
	k.start("Importing your key…", func() func() {
		var e pgp.Entry
		f, err := os.Open(path)
		if err == nil {
			e, err = k.cfg.Store.ImportSecret(f, []byte(passphrase))
			f.Close()
		}
		if err == nil && k.cfg.Changed != nil {
			k.cfg.Changed("import", e)
		}
		return func() {
			if err != nil {
				k.status.SetText("Your key was not imported: " + sentence(err.Error()))
				return
			}
			k.status.SetText("Imported your key " + e.Fingerprint.Grouped() + ". It is now locked with a new passphrase kept in the system keychain.")
		}
	})
}

// showCompare shows e's fingerprint with the instruction to compare it
// before pinning. A key may claim any address about itself, so a key with
// several addresses lists them with a box each, none ticked: the key is
// pinned only for the ones the user ticks, having confirmed the
// fingerprint with their owner. The banner names the address(es) chosen.
func (k *keysSection) showCompare(e pgp.Entry) {
	k.pending = &e
	k.compare.RemoveAll()
	addrs := e.Claimed
	if len(addrs) == 0 {
		addrs = e.Emails
	}
	pin := &widget.Button{Text: "It matches — pin this key", Icon: theme.ConfirmIcon(), Importance: widget.HighImportance}
	later := &widget.Button{Text: "Not now", OnTapped: k.closeCompare}
	const how = "Phone them on a number you already know (not one from the same e-mail) and have them read their fingerprint to you. Pin only if every group matches; if not, someone may be trying to read their mail."
	if len(addrs) <= 1 {
		k.compare.Add(banner(theme.WarningIcon(), theme.ColorNameWarning,
			"Compare this fingerprint with "+keyLabel(strings.Join(addrs, ", "))+" before pinning it.", how))
		k.compare.Add(fingerprintBox(theme.VisibilityIcon(), keyLabel(strings.Join(e.UserIDs, ", ")), e.Fingerprint))
		pin.OnTapped = func() { k.onPin(addrs, false) }
		k.compare.Add(container.NewHBox(pin, later))
		return
	}
	b := banner(theme.WarningIcon(), theme.ColorNameWarning, "", how+" A key can claim any address, so tick only the addresses whose owner confirmed this fingerprint.")
	title := firstLabel(b)
	checks := make([]*widget.Check, len(addrs))
	ticked := func() []string {
		var out []string
		for i, c := range checks {
			if c.Checked {
				out = append(out, addrs[i])
			}
		}
		return out
	}
	update := func() {
		if chosen := ticked(); len(chosen) > 0 {
			title.SetText("Compare this fingerprint with the owner of " + keyLabel(strings.Join(chosen, ", ")) + " before pinning it for " + plural(len(chosen), "that address", "those addresses") + ".")
			pin.Enable()
			return
		}
		title.SetText("This key has " + fmt.Sprint(len(addrs)) + " addresses. Tick the address you are confirming, then compare this fingerprint with its owner.")
		pin.Disable()
	}
	list := container.NewVBox(&widget.Label{Text: "Pin this key for:", TextStyle: fyne.TextStyle{Bold: true}})
	for i, a := range addrs {
		checks[i] = widget.NewCheck(keyLabel(a), func(bool) { update() })
		list.Add(checks[i])
	}
	pin.OnTapped = func() {
		chosen := ticked()
		if len(chosen) == 0 {
			k.status.SetText("Tick the address whose owner confirmed the fingerprint first.")
			return
		}
		k.onPin(chosen, false)
	}
	update()
	k.compare.Add(b)
	k.compare.Add(fingerprintBox(theme.VisibilityIcon(), keyLabel(strings.Join(e.UserIDs, ", ")), e.Fingerprint))
	k.compare.Add(list)
	k.compare.Add(container.NewHBox(pin, later))
}

// closeCompare hides the comparison without pinning.
func (k *keysSection) closeCompare() {
	k.pending = nil
	k.compare.RemoveAll()
}

// onPin pins the pending key for addrs (the addresses the user confirmed);
// with replace, addresses pinned to another key move to this one. An
// address pinned to another key without replace shows that key and asks
// before replacing it.
func (k *keysSection) onPin(addrs []string, replace bool) {
	if k.pending == nil {
		return
	}
	e := *k.pending
	k.start("Pinning…", func() func() {
		ps, err := k.peers()
		if err == nil {
			err = ps.PinAddresses(e.Fingerprint, addrs, replace)
		}
		var conflict *pgp.PinConflictError
		var other pgp.Entry
		if errors.As(err, &conflict) {
			other, _ = ps.Entry(conflict.Other) // for its names; the fingerprint is enough
		}
		if err == nil {
			if e2, gerr := ps.Entry(e.Fingerprint); gerr == nil {
				e = e2
			}
			if k.cfg.Changed != nil {
				e.Trust = pgp.Pinned
				k.cfg.Changed("pin", e)
			}
		}
		return func() {
			switch {
			case conflict != nil && !conflict.OtherIsOwn && !replace:
				k.showConflict(e, addrs, conflict, other)
				k.status.SetText("Not pinned yet: " + keyLabel(conflict.Address) + " is already pinned to another key.")
				return
			case err != nil:
				k.status.SetText("Not pinned: " + sentence(keyLabel(strings.TrimPrefix(err.Error(), "pgp: "))))
				return
			}
			k.closeCompare()
			k.status.SetText("Pinned the key for " + keyLabel(strings.Join(addrs, ", ")) + ". Messages to " + plural(len(addrs), "that address", "those addresses") + " are encrypted to it, and mail from " + plural(len(addrs), "it", "them") + " is checked against it.")
		}
	})
}

// showConflict names the key an address is already pinned to and asks
// before replacing it with the pending one.
func (k *keysSection) showConflict(e pgp.Entry, addrs []string, c *pgp.PinConflictError, other pgp.Entry) {
	k.compare.RemoveAll()
	names := ""
	if len(other.UserIDs) > 0 {
		names = " (" + keyLabel(strings.Join(other.UserIDs, ", ")) + ")"
	}
	k.compare.Add(banner(theme.ErrorIcon(), theme.ColorNameError,
		keyLabel(c.Address)+" is already pinned to another key: "+c.Other.Grouped()+names+".",
		"Replace it only if the owner of "+keyLabel(c.Address)+" told you, on a number you already know, that the new key "+e.Fingerprint.Grouped()+" replaces the old one. Otherwise someone may be trying to read their mail: keep the old key."))
	replace := &widget.Button{Text: "Replace the other key", Icon: theme.WarningIcon(), Importance: widget.DangerImportance, OnTapped: func() { k.onPin(addrs, true) }}
	cancel := &widget.Button{Text: "Cancel", OnTapped: k.closeCompare}
	k.compare.Add(container.NewHBox(cancel, replace))
}

// plural is one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// firstLabel is the first label below o (a banner's title).
func firstLabel(o fyne.CanvasObject) *widget.Label {
	switch v := o.(type) {
	case *widget.Label:
		return v
	case *fyne.Container:
		for _, c := range v.Objects {
			if l := firstLabel(c); l != nil {
				return l
			}
		}
	}
	return nil
}

// keyLabel makes text from a key (user IDs, addresses) safe to show:
// control, bidi and other invisible format characters are shown as
// <U+XXXX>, so a user ID cannot reorder or hide what is displayed.
func keyLabel(s string) string { return termsafe.Key(s) }
