package profile_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/securesend/securesend/profile"
)

// How the app uses the package: load and verify the profile once at start
// (stop on any error), combine it with the user's settings, and check every
// message before connecting. The profile here is the two-pharmacy fixture,
// signed with the TEST ONLY admin key.
func Example() {
	read := func(name string) []byte { b, _ := os.ReadFile(filepath.Join("testdata", name)); return b }
	data := read("good_two_pharmacies_must_encrypt.toml")
	sig, _ := profile.Sign(data, read("admin_TEST_ONLY.private.asc"), []byte("TEST ONLY passphrase"))
	baked := profile.Baked{ // in cmd/securesend: bakedProfile(), from the binary
		Profile: data, Signature: sig, AdminKey: read("admin_TEST_ONLY.asc"),
		Fingerprint: strings.TrimSpace(string(read("admin_TEST_ONLY.fingerprint"))),
	}
	loaded, err := profile.Load(profile.LoadOptions{
		Baked:     baked,
		SystemDir: profile.SystemDir(runtime.GOOS, func(string) string { return filepath.Join(os.TempDir(), "none") }),
		StateFile: "", // the app: home.Path("profile-serials")
	})
	if err != nil {
		fmt.Println("refusing to start:", err) // ErrTampered, ErrUnsigned, ErrWrongKey, ErrRollback...
		return
	}
	fileSettings := profile.UserSettings{RequireREQUIRETLS: true} // profile.ReadUserSettings(home/security.toml)
	flagSettings := profile.UserSettings{Encryption: "auto"}      // a --encryption flag: ignored, cannot loosen
	pol := profile.Effective(loaded.Profile, fileSettings, flagSettings)

	to := []string{"orders@mainst-pharmacy.example.nz"}
	err = pol.CheckSend(profile.Outgoing{From: "dr@kowhai.example.nz", To: to, HaveKey: func(string) bool { return false }})
	fmt.Println("organisation:", loaded.Profile.Organisation.Name, "serial", loaded.Profile.Serial)
	fmt.Println("without a key:", errors.Is(err, profile.ErrEncryptionRequired))
	dir, _ := loaded.Profile.Recipient(to[0])
	err = pol.CheckSend(profile.Outgoing{From: "dr@kowhai.example.nz", To: to, HaveKey: func(a string) bool { return a == dir.Email }})
	fmt.Println("with the directory key:", err == nil, "must encrypt:", pol.MustEncrypt(to))
	fmt.Printf("min TLS %#x, REQUIRETLS %v\n", pol.MinTLS(), pol.RequireTLS())
	fmt.Println(pol.Notes())
	// Output:
	// organisation: Kowhai Medical Centre serial 3
	// without a key: true
	// with the directory key: true must encrypt: true
	// min TLS 0x303, REQUIRETLS true
	// [encryption setting ignored: the organisation locks it at "domains"]
}
