package app

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
)

// keysUI is the demo UI with its Settings keys section on a key store of
// the test's own (public keys only: no keychain needed).
func keysUI(t *testing.T) (*keysSection, *pgp.Store) {
	t.Helper()
	st, err := pgp.OpenStore(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := newDemoUI(t, func(c *Config) { c.Keys = &KeysConfig{Store: st} })
	if u.settings.keys == nil {
		t.Fatal("no keys section")
	}
	return u.settings.keys, st
}

// importKeyFile imports k's public key through the keys section, as the
// Import button does.
func importKeyFile(t *testing.T, ks *keysSection, k *pgp.Key) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "key.asc")
	if err := os.WriteFile(file, pgptest.Armored(t, k.Public()), 0o600); err != nil {
		t.Fatal(err)
	}
	done := expect(&ks.done)
	ks.importFile(file)
	await(t, "import", done)
}

// checks are the check boxes below o, by their text.
func checks(o fyne.CanvasObject) map[string]*widget.Check {
	out := map[string]*widget.Check{}
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch v := o.(type) {
		case *widget.Check:
			out[v.Text] = v
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case *container.Scroll:
			walk(v.Content)
		}
	}
	walk(o)
	return out
}

// button is the button below o with text, or nil.
func button(o fyne.CanvasObject, text string) *widget.Button {
	switch v := o.(type) {
	case *widget.Button:
		if v.Text == text {
			return v
		}
	case *fyne.Container:
		for _, c := range v.Objects {
			if b := button(c, text); b != nil {
				return b
			}
		}
	}
	return nil
}

// TestPinKeyWithSeveralAddresses: a key that claims two addresses (a key
// may claim any) is offered for pinning with a box per address, none
// ticked, and Pin disabled until one is; pinning binds only the ticked
// address, and the banner names it.
func TestPinKeyWithSeveralAddresses(t *testing.T) {
	ks, st := keysUI(t)
	key := pgptest.Key(t, "Rx Day", "day@pharmacy.test")
	if err := key.Entity().AddUserId("Rx Night", "", "night@pharmacy.test", pgp.Config(nil)); err != nil {
		t.Fatal(err)
	}
	fpr := key.Public().Fingerprint()
	importKeyFile(t, ks, key)

	boxes := checks(ks.compare)
	if len(boxes) != 2 || boxes["day@pharmacy.test"] == nil || boxes["night@pharmacy.test"] == nil {
		t.Fatalf("check boxes %v, want one per address\n%s", boxes, texts(ks.compare))
	}
	for a, c := range boxes {
		if c.Checked {
			t.Errorf("%s ticked before the user chose it", a)
		}
	}
	pin := button(ks.compare, "It matches — pin this key")
	if pin == nil || !pin.Disabled() {
		t.Fatalf("pin button %v: want it shown and disabled until an address is ticked", pin)
	}
	if got := texts(ks.compare); !strings.Contains(got, "This key has 2 addresses. Tick the address you are confirming") || !strings.Contains(got, fpr.Grouped()) {
		t.Errorf("compare panel before ticking:\n%s", got)
	}

	test.Tap(boxes["night@pharmacy.test"])
	if got := texts(ks.compare); !strings.Contains(got, "Compare this fingerprint with the owner of night@pharmacy.test before pinning it for that address.") {
		t.Errorf("banner does not name the chosen address:\n%s", got)
	}
	done := expect(&ks.done)
	test.Tap(pin)
	await(t, "pin", done)

	e, err := st.Entry(fpr)
	if err != nil || e.Trust != pgp.Pinned || !slices.Equal(e.Emails, []string{"night@pharmacy.test"}) {
		t.Fatalf("entry %+v, %v; want pinned for night@ only (status %q)", e, err, ks.status.Text)
	}
	if got, _ := st.PinnedFor("day@pharmacy.test"); len(got) != 0 {
		t.Errorf("day@ was bound although not ticked: %+v", got)
	}
	if !strings.HasPrefix(ks.status.Text, "Pinned the key for night@pharmacy.test.") || len(ks.compare.Objects) != 0 {
		t.Errorf("status %q, compare panel %d objects", ks.status.Text, len(ks.compare.Objects))
	}
	if got := texts(ks.list); !strings.Contains(got, "night@pharmacy.test — Pinned") {
		t.Errorf("list:\n%s", got)
	}
}

// TestPinConflictNamesOtherKey: pinning a key for an address already
// pinned to another key does not replace it: the panel names the other
// key (fingerprint and user ID) and only then offers "Replace the other
// key", which moves the address once tapped. Cancel keeps the old key.
func TestPinConflictNamesOtherKey(t *testing.T) {
	for _, confirm := range []bool{false, true} {
		name := "cancel"
		if confirm {
			name = "replace"
		}
		t.Run(name, func(t *testing.T) {
			ks, st := keysUI(t)
			old := pgptest.Key(t, "Rx Old", "rx@pharmacy.test").Public()
			oldEntry, err := st.Import(strings.NewReader(string(pgptest.Armored(t, old))), pgp.ImportOptions{Pin: true})
			if err != nil {
				t.Fatal(err)
			}
			ks.refresh()
			newKey := pgptest.Key(t, "Rx New", "rx@pharmacy.test")
			newFpr := newKey.Public().Fingerprint()
			importKeyFile(t, ks, newKey)
			if button(ks.compare, "Replace the other key") != nil {
				t.Fatal("replace offered before the conflict was named")
			}

			done := expect(&ks.done)
			test.Tap(button(ks.compare, "It matches — pin this key"))
			await(t, "pin", done)
			got := texts(ks.compare)
			want := "rx@pharmacy.test is already pinned to another key: " + oldEntry.Fingerprint.Grouped() + " (Rx Old <rx@pharmacy.test>)."
			if !strings.Contains(got, want) || !strings.Contains(got, newFpr.Grouped()) {
				t.Fatalf("conflict panel lacks %q and the new fingerprint:\n%s\nstatus %q", want, got, ks.status.Text)
			}
			if pinned, _ := st.PinnedFor("rx@pharmacy.test"); len(pinned) != 1 || pinned[0].Fingerprint != oldEntry.Fingerprint {
				t.Fatalf("pinned for rx@ before confirming: %+v", pinned)
			}
			replace := button(ks.compare, "Replace the other key")
			if replace == nil {
				t.Fatal("no Replace the other key button after naming it")
			}

			wantFpr := oldEntry.Fingerprint
			if confirm {
				done = expect(&ks.done)
				test.Tap(replace)
				await(t, "replace", done)
				wantFpr = newFpr
			} else {
				test.Tap(button(ks.compare, "Cancel"))
			}
			pinned, _ := st.PinnedFor("rx@pharmacy.test")
			if len(pinned) != 1 || pinned[0].Fingerprint != wantFpr {
				t.Errorf("pinned for rx@: %+v, want %s (status %q)", pinned, wantFpr.Grouped(), ks.status.Text)
			}
			if len(ks.compare.Objects) != 0 {
				t.Errorf("panel still shown:\n%s", texts(ks.compare))
			}
		})
	}
}
