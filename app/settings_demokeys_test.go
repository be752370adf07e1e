package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/desk"
)

// demoUIWithKeys is the demo window exactly as runGUI makes it (OpenDesk
// over a desk in a new home, with the Settings tab's key management and
// Reload), on a demo mail system of the test's.
func demoUIWithKeys(t *testing.T) *UI {
	t.Helper()
	testKeychain(t) // the home's key store is keyed in the keychain
	cfg, _ := openDemo(t, desk.DemoOptions{})
	if !cfg.Demo || cfg.Keys == nil || cfg.Reload == nil {
		t.Fatalf("not the demo with key management: demo %v, keys %v", cfg.Demo, cfg.Keys)
	}
	return newUI(t, cfg)
}

// TestDemoCorrespondentsAreTheToFields: in demo mode, Settings'
// "Correspondents' keys" lists the keys the To field offers (the demo
// pharmacy's, pinned), not the home's empty store, and says they are the
// demo's; a key imported there is offered by the To field.
func TestDemoCorrespondentsAreTheToFields(t *testing.T) {
	u := demoUIWithKeys(t)
	k := u.settings.keys
	if len(u.cfg.Recipients) == 0 {
		t.Fatal("the To field offers no one")
	}
	list := texts(k.list)
	for _, r := range u.cfg.Recipients {
		if !strings.Contains(list, r.Address) {
			t.Errorf("the To field offers %s, Settings' keys do not list it:\n%s", r.Address, list)
		}
	}
	if !strings.Contains(list, "pharmacy@demo.test — Pinned") || strings.Contains(list, "No correspondents' keys yet.") {
		t.Errorf("Settings' correspondents' keys:\n%s", list)
	}
	if !k.demoNote.Visible() {
		t.Error("no note that these are the demo's correspondents")
	}

	pub := pgptest.Key(t, "Harbour Pharmacy", "dispensary@harbour-pharmacy.example.nz").Public()
	file := filepath.Join(t.TempDir(), "harbour.asc")
	if err := os.WriteFile(file, pgptest.Armored(t, pub), 0o600); err != nil {
		t.Fatal(err)
	}
	done, reloaded := expect(&k.done), expect(&u.reloadDone)
	k.importFile(file)
	await(t, "import", done)
	await(t, "reload", reloaded)
	if list := texts(k.list); !strings.Contains(list, "dispensary@harbour-pharmacy.example.nz") {
		t.Errorf("the imported key is not listed:\n%s", list)
	}
	found := false
	for _, o := range u.send.toOptions {
		found = found || strings.Contains(o, "dispensary@harbour-pharmacy.example.nz")
	}
	if !found {
		t.Errorf("the To field does not offer the imported key: %q", u.send.toOptions)
	}
}
