package windows

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUnitTestsUnderWine runs the tests of the packages with Windows-only
// code as Windows test binaries under Wine: directory durability
// (atomicfile.SyncDir, Rename), file locks (LockFileEx, across
// processes) and the keychain against the real Credential Manager and its
// 2560-byte limit.
func TestUnitTestsUnderWine(t *testing.T) {
	need(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	for _, pkg := range []string{"internal/atomicfile", "internal/filelock", "crypto/keychain"} {
		t.Run(pkg, func(t *testing.T) {
			exe := filepath.Join(t.TempDir(), filepath.Base(pkg)+".test.exe")
			build := exec.Command(goBin, "test", "-c", "-o", exe, "../../"+pkg)
			build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("building the Windows test binary: %v\n%s", err, out)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "wine", exe, "-test.v", "-test.count=1")
			cmd.Env = wineEnv()
			cmd.Dir = filepath.Join("../..", pkg) // testdata, as go test does
			out, err := cmd.CombinedOutput()
			t.Logf("%s under Wine:\n%s", pkg, out)
			if err != nil || !strings.Contains(string(out), "\nPASS") {
				t.Fatalf("%s failed under Wine: %v", pkg, err)
			}
		})
	}
}
