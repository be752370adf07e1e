package packaging

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWindowsSignedExe cross-compiles the Windows .exe with mingw-w64 and
// signs it with a throw-away TEST ONLY certificate. It is slow on a cold
// cache (measured 7 min 41 s with the Fyne GUI linked, on the shared 2-core
// box; 3 s once cached), so it runs only with SECURESEND_WINDOWS_TEST=1.
func TestWindowsSignedExe(t *testing.T) {
	if os.Getenv("SECURESEND_WINDOWS_TEST") != "1" {
		t.Skip("set SECURESEND_WINDOWS_TEST=1 to cross-compile and sign the Windows .exe")
	}
	for _, tool := range []string{"x86_64-w64-mingw32-gcc", "osslsigncode", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: %v", tool, err)
		}
	}
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
	b := signedBundle(t, "3")
	out := filepath.Join(dir, "dist")
	res, err := Build(context.Background(), Options{OS: "windows", ModuleDir: "..", OutDir: out, Baked: b,
		Authenticode: &Authenticode{PKCS12: pfx, Password: []byte("test-only")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("go build %v, signing %v", res.BuildTime, res.PackageTime)
	exe := res.Artifacts[0]
	if filepath.Base(exe) != "securesend-kowhai-medical-centre-3-windows-amd64.exe" {
		t.Fatalf("artifact %s", exe)
	}
	v, err := exec.Command("osslsigncode", "verify", "-CAfile", cert, "-in", exe).CombinedOutput()
	if err != nil || !strings.Contains(string(v), "Signature verification: ok") {
		t.Fatalf("Authenticode signature: %v\n%s", err, v)
	}
	data := read(t, exe)
	if !bytes.HasPrefix(data, []byte("MZ")) || !bytes.Contains(data, b.Profile) || !bytes.Contains(data, []byte(b.Fingerprint)) {
		t.Fatal("the .exe is not a PE file carrying the baked profile and pinned fingerprint")
	}
}
