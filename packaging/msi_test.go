package packaging

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/securesend/securesend/profile"
)

// needTools skips unless every tool is installed; with
// SECURESEND_PACKAGE_TEST=1 (make test, CI) a missing tool fails instead.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("SECURESEND_PACKAGE_TEST") == "1" {
				t.Fatalf("%s is needed (scripts/install-deps.sh test installs it): %v", tool, err)
			}
			t.Skipf("%s not installed (set SECURESEND_PACKAGE_TEST=1 to make this a failure)", tool)
		}
	}
}

// msiTable returns the rows of an MSI table, as msiinfo exports them
// (without the three header lines).
func msiTable(t *testing.T, msi, table string) [][]string {
	t.Helper()
	out, err := exec.Command("msiinfo", "export", msi, table).Output()
	if err != nil {
		t.Fatalf("msiinfo export %s: %v", table, err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\r\n"), "\n")
	var rows [][]string
	for _, l := range lines[min(3, len(lines)):] {
		rows = append(rows, strings.Split(strings.TrimRight(l, "\r"), "\t"))
	}
	return rows
}

// msiProperties returns the Property table as a map.
func msiProperties(t *testing.T, msi string) map[string]string {
	t.Helper()
	props := map[string]string{}
	for _, r := range msiTable(t, msi, "Property") {
		if len(r) == 2 {
			props[r[0]] = r[1]
		}
	}
	return props
}

// testPE cross-compiles a tiny Windows program (pure Go, no cgo): a real
// PE file for wixl and osslsigncode, without the minutes of a full
// securesend cross-build.
func testPE(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"TEST ONLY\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "securesend.exe")
	cmd := exec.Command("go", "build", "-o", exe, src)
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build (windows): %v\n%s", err, out)
	}
	return exe
}

// testCert makes a throw-away TEST ONLY code-signing certificate: the PEM
// certificate (the CA for verification) and a .pfx with password
// "test-only".
func testCert(t *testing.T) (cert, pfx string) {
	t.Helper()
	dir := t.TempDir()
	cert, key, pfx := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pfx")
	for _, args := range [][]string{
		{"req", "-x509", "-newkey", "rsa:2048", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=TEST ONLY code signing",
			"-addext", "extendedKeyUsage=codeSigning", "-passout", "pass:test-only"},
		{"pkcs12", "-export", "-in", cert, "-inkey", key, "-passin", "pass:test-only", "-out", pfx, "-passout", "pass:test-only"},
	} {
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args[0], err, out)
		}
	}
	return cert, pfx
}

// packageMSI runs the Windows packaging step (everything after go build)
// on exe for bundle b and returns the .exe and .msi it wrote.
func packageMSI(t *testing.T, b profile.Baked, exe string, a *Authenticode) (string, string) {
	t.Helper()
	p, err := profile.Verify(b.Profile, b.Signature, b.AdminKey, b.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	tmp, out := t.TempDir(), t.TempDir()
	work := filepath.Join(tmp, "securesend.exe")
	if err := os.WriteFile(work, read(t, exe), 0o755); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	o := Options{OS: "windows", Arch: "amd64", OutDir: out, Baked: b, AppID: "nz.securesend.app", Version: "1.0.0",
		Icon: "Icon.png", MSI: true, Authenticode: a, Log: &log}
	arts, err := packageWindows(context.Background(), o, p, tmp, work, "securesend-test")
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if len(arts) != 2 || filepath.Ext(arts[1]) != ".msi" {
		t.Fatalf("artifacts %v", arts)
	}
	return arts[0], arts[1]
}

// TestMSITables builds the MSI with wixl around a real (tiny) PE file and
// checks its tables with msiinfo: per-machine, the .exe in Program Files,
// the signed profile and admin key in %ProgramData%\securesend byte for
// byte, the Start-menu shortcut, the .eml open verb, the version from the
// profile serial and an upgrade code that a newer serial upgrades.
func TestMSITables(t *testing.T) {
	needTools(t, "wixl", "msiinfo", "msiextract")
	b3 := signedBundle(t, "3")
	pe := testPE(t)
	_, msi := packageMSI(t, b3, pe, nil)

	props := msiProperties(t, msi)
	for k, want := range map[string]string{
		"ProductVersion": "1.0.3",
		"UpgradeCode":    UpgradeCode("nz.securesend.app"),
		"ALLUSERS":       "1",
		"Manufacturer":   "Kowhai Medical Centre",
		"ProductName":    "securesend (Kowhai Medical Centre)",
		"ARPCONTACT":     "admin@kowhai.example.nz",
	} {
		if !strings.EqualFold(props[k], want) {
			t.Errorf("Property %s = %q, want %q", k, props[k], want)
		}
	}
	if props["ProductCode"] == "" {
		t.Error("no ProductCode")
	}

	dirs := map[string][]string{} // id -> parent, name
	for _, r := range msiTable(t, msi, "Directory") {
		dirs[r[0]] = r[1:]
	}
	if d := dirs["INSTALLDIR"]; len(d) < 2 || d[0] != "ProgramFiles64Folder" || d[1] != "securesend" {
		t.Errorf("INSTALLDIR %v: not Program Files\\securesend", d)
	}
	if d := dirs["PROFILEDIR"]; len(d) < 2 || d[0] != "CommonAppDataFolder" || d[1] != msiProfileDir {
		t.Errorf("PROFILEDIR %v: not %%ProgramData%%\\securesend", d)
	}
	if !strings.HasSuffix(profile.OSSystemDir("windows", func(string) string { return `C:\ProgramData` }), `\`+msiProfileDir) {
		t.Error("the MSI's profile folder is not where the Windows build reads the system-wide profile")
	}

	compDir := map[string]string{}
	for _, r := range msiTable(t, msi, "Component") {
		compDir[r[0]] = r[2]
		if !strings.HasPrefix(r[1], "{") {
			t.Errorf("component %s has no fixed GUID: %v", r[0], r)
		}
	}
	files := map[string]string{} // file name -> directory
	for _, r := range msiTable(t, msi, "File") {
		files[r[2]] = compDir[r[1]]
	}
	want := map[string]string{
		"securesend.exe":        "INSTALLDIR",
		profile.ProfileFile:     "PROFILEDIR",
		profile.SignatureFile:   "PROFILEDIR",
		profile.AdminKeyFile:    "PROFILEDIR",
		profile.FingerprintFile: "PROFILEDIR",
	}
	for name, dir := range want {
		if files[name] != dir {
			t.Errorf("File %s in %q, want %s (files %v)", name, files[name], dir, files)
		}
	}

	sc := msiTable(t, msi, "Shortcut")
	if len(sc) != 1 || sc[0][1] != "ProgramMenuFolder" || sc[0][2] != "securesend" || sc[0][4] != "[INSTALLDIR]securesend.exe" {
		t.Errorf("Start-menu shortcut: %v", sc)
	}

	var upgrades int
	for _, r := range msiTable(t, msi, "Upgrade") {
		if !strings.EqualFold(r[0], props["UpgradeCode"]) {
			t.Errorf("Upgrade row for another product: %v", r)
		}
		if slices.Contains(r, "WIX_UPGRADE_DETECTED") {
			upgrades++
			if r[2] != "1.0.3" {
				t.Errorf("upgrade range %v does not end at this version", r)
			}
		}
	}
	if upgrades != 1 {
		t.Errorf("no major-upgrade row in the Upgrade table")
	}
	seq := msiTable(t, msi, "InstallExecuteSequence")
	if !slices.ContainsFunc(seq, func(r []string) bool { return r[0] == "RemoveExistingProducts" }) {
		t.Error("older versions are not removed (no RemoveExistingProducts)")
	}

	reg := map[string]string{}
	for _, r := range msiTable(t, msi, "Registry") {
		if r[1] != "2" {
			t.Errorf("registry value outside HKLM: %v", r)
		}
		reg[r[2]+`\`+r[3]] = r[4]
	}
	for k, v := range map[string]string{
		`Software\Classes\securesend.eml\shell\open\command\`:              `"[INSTALLDIR]securesend.exe" "%1"`,
		`Software\Classes\.eml\OpenWithProgids\securesend.eml`:             "",
		`Software\securesend\Capabilities\FileAssociations\.eml`:           "securesend.eml",
		`Software\securesend\Capabilities\MIMEAssociations\message/rfc822`: "securesend.eml",
		`Software\RegisteredApplications\securesend`:                       `Software\securesend\Capabilities`,
	} {
		if got, ok := reg[k]; !ok || got != v {
			t.Errorf("registry %s = %q (present %t), want %q", k, got, ok, v)
		}
	}

	si, err := exec.Command("msiinfo", "suminfo", msi).CombinedOutput()
	if err != nil || !strings.Contains(string(si), "Template: x64;1033") {
		t.Errorf("summary information: %v\n%s", err, si)
	}

	// The files in the cabinet are the bundle, byte for byte.
	x := t.TempDir()
	if out, err := exec.Command("msiextract", "-C", x, msi).CombinedOutput(); err != nil {
		t.Fatalf("msiextract: %v\n%s", err, out)
	}
	for name, data := range map[string][]byte{profile.ProfileFile: b3.Profile, profile.SignatureFile: b3.Signature, profile.AdminKeyFile: b3.AdminKey} {
		var found bool
		filepath.WalkDir(x, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == name {
				found = bytes.Equal(read(t, p), data)
			}
			return nil
		})
		if !found {
			t.Errorf("%s not installed byte for byte", name)
		}
	}

	t.Run("newer serial upgrades in place", func(t *testing.T) {
		_, msi4 := packageMSI(t, signedBundle(t, "4"), pe, nil)
		p4 := msiProperties(t, msi4)
		if p4["ProductVersion"] != "1.0.4" || p4["UpgradeCode"] != props["UpgradeCode"] || p4["ProductCode"] == props["ProductCode"] {
			t.Fatalf("serial 4: version %s upgrade code %s product code %s (serial 3: %s %s)", p4["ProductVersion"], p4["UpgradeCode"], p4["ProductCode"], props["UpgradeCode"], props["ProductCode"])
		}
		_, again := packageMSI(t, b3, pe, nil)
		if msiProperties(t, again)["ProductCode"] != props["ProductCode"] {
			t.Error("rebuilding serial 3 changed its product code: Windows would install it twice side by side")
		}
	})
}

// TestMSIHostileOrganisationName: the organisation name reaches the WiX
// source; XML syntax, wixl preprocessor variables and Windows Installer
// property references in it stay literal text.
func TestMSIHostileOrganisationName(t *testing.T) {
	needTools(t, "wixl", "msiinfo")
	b := signedBundle(t, "5")
	name := `Kowhai "$(env.HOME)" <&> [INSTALLDIR] $(var.X) a=b`
	b.Profile = bytes.Replace(b.Profile, []byte(`name = "Kowhai Medical Centre"`), []byte(`name = 'Kowhai "$(env.HOME)" <&> [INSTALLDIR] $(var.X) a=b'`), 1)
	sig, err := profile.Sign(b.Profile, read(t, fixtures+"admin_TEST_ONLY.private.asc"), []byte(testPassphrase))
	if err != nil {
		t.Fatal(err)
	}
	b.Signature = sig
	_, msi := packageMSI(t, b, testPE(t), nil)
	if got := msiProperties(t, msi)["Manufacturer"]; got != name {
		t.Fatalf("Manufacturer %q, want %q", got, name)
	}
}

// TestMSIAuthenticode signs the .exe and the MSI with a throw-away TEST
// ONLY certificate; osslsigncode verifies both, and the .exe inside the
// MSI is the signed one.
func TestMSIAuthenticode(t *testing.T) {
	needTools(t, "wixl", "msiinfo", "msiextract", "osslsigncode", "openssl")
	cert, pfx := testCert(t)
	exe, msi := packageMSI(t, signedBundle(t, "3"), testPE(t), &Authenticode{PKCS12: pfx, Password: []byte("test-only")})
	for _, f := range []string{exe, msi} {
		v, err := exec.Command("osslsigncode", "verify", "-CAfile", cert, "-in", f).CombinedOutput()
		if err != nil || !strings.Contains(string(v), "Signature verification: ok") {
			t.Fatalf("%s: Authenticode signature: %v\n%s", filepath.Base(f), err, v)
		}
	}
	x := t.TempDir()
	if out, err := exec.Command("msiextract", "-C", x, msi).CombinedOutput(); err != nil {
		t.Fatalf("msiextract: %v\n%s", err, out)
	}
	var inner string
	filepath.WalkDir(x, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "securesend.exe" {
			inner = p
		}
		return nil
	})
	if inner == "" || !bytes.Equal(read(t, inner), read(t, exe)) {
		t.Fatal("the MSI does not carry the signed .exe")
	}
}

func TestMSIVersion(t *testing.T) {
	for _, c := range []struct {
		app    string
		serial int64
		want   string
		err    string
	}{
		{"1.0.0", 3, "1.0.3", ""},
		{"2.7.1", 65535, "2.7.65535", ""},
		{"1.0.0", 65536, "", "0 to 65535"},
		{"1.0.0", 20261207, "", "smaller serial"},
		{"256.0.0", 1, "", "0 to 255"},
		{"1", 1, "", "want x.y.z"},
		{"1.x.0", 1, "", "0 to 255"},
	} {
		got, err := MSIVersion(c.app, c.serial)
		if got != c.want || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("MSIVersion(%q, %d) = %q, %v; want %q, %q", c.app, c.serial, got, err, c.want, c.err)
		}
	}
	// The upgrade code of nz.securesend.app must never change: MSIs
	// already deployed carry it, and only the same code upgrades them.
	if got := UpgradeCode("nz.securesend.app"); got != "{2E9CFE11-6B94-5C8B-B96E-A7246CD4CBCD}" {
		t.Errorf("UpgradeCode(nz.securesend.app) = %s: changed, so new MSIs would not upgrade deployed ones", got)
	}
	if UpgradeCode("nz.securesend.app") == UpgradeCode("nz.example.other") {
		t.Error("two app ids share an upgrade code")
	}
}
