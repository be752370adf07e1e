// Package e2e tests securesend as a user runs it: the real binary sends the
// sample documents through a private Postfix on loopback, Dovecot delivers
// them, and the tests read them back over IMAPS.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/mailserver"
	"github.com/securesend/securesend/profile"
)

// binary is the securesend CLI built once for all tests.
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "securesend-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "securesend")
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	build := exec.Command(goBin, "build", "-o", binary, "../cmd/securesend")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building securesend failed:", err)
		return 1
	}
	return m.Run()
}

// openHome opens a Desk in the securesend home dir, collecting its
// warnings in warns (nil: they are dropped). The organisation profile
// directory is one that does not exist (noSystemProfile), so that no
// profile installed on the machine applies.
func openHome(t *testing.T, dir string, warns *[]error) *desk.Desk {
	t.Helper()
	opts := desk.Options{Getenv: func(k string) string {
		switch k {
		case home.EnvVar:
			return dir
		case profile.SystemDirEnv:
			return noSystemProfile(dir)
		}
		return ""
	}}
	if warns != nil {
		opts.Warn = func(err error) { *warns = append(*warns, err) }
	}
	d, err := desk.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// noSystemProfile is the (absent) system profile directory of the home
// dir, for SECURESEND_SYSTEM_DIR.
func noSystemProfile(dir string) string { return filepath.Join(dir, "no-system-profile") }

// addAccount adds to d the account name for email on srv (its IMAPS
// port, and smtp for sending), password srv.Password, removed again at
// the test's end.
func addAccount(t *testing.T, d *desk.Desk, srv *mailserver.Server, name, email string, smtp account.Server) {
	t.Helper()
	a := account.Account{Name: name, Email: email, Auth: account.AuthPassword, CAFile: srv.CAFile, SMTP: smtp,
		IMAP: account.Server{Address: mailserver.Addr(srv.IMAPS), Security: account.ImplicitTLS}}
	if err := d.Accounts().Add(a, account.Credentials{Password: srv.Password}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Accounts().Remove(name) })
}

// result is what one securesend run produced.
type result struct {
	code           int
	stdout, stderr string
}

// securesend runs the CLI with args, stdin as standard input and a private
// SECURESEND_HOME, and returns its exit code and output.
func securesend(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "SECURESEND_HOME="+t.TempDir())
	cmd.Stdin = bytes.NewBufferString(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("securesend %v: %v", args, err)
		}
		r.code = ee.ExitCode()
	}
	t.Logf("securesend %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	return r
}
