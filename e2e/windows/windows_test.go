package windows

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/internal/mailserver"
)

var samples = []string{
	"../../assets/samples/sample-prescription.pdf",
	"../../assets/samples/sample-referral.tif",
}

// TestWindowsJourneys runs the Windows build through what a clinic and a
// pharmacy do, in order: each step needs the state the previous left.
//
// The doctor's home is the default one, under %APPDATA% of a Windows user
// whose name has a space and macrons (winUser); the pharmacy's is set
// with SECURESEND_HOME, also with a space and macrons.
func TestWindowsJourneys(t *testing.T) {
	need(t)
	srv := mailserver.StartT(t, mailserver.Options{Users: []string{"doctor", "pharmacy", "gp"}})
	doctorAddr, pharmacyAddr, gpAddr := srv.Users[0], srv.Users[1], srv.Users[2]

	appdata := `C:\users\` + winUser + `\AppData\Roaming`
	doctor := user{name: "doctor"}
	pharmacyHome := `C:\users\Rongoā Pharmacy\securesend home`
	pharmacy := user{name: "pharmacy", env: []string{"SECURESEND_HOME=" + pharmacyHome}}
	for _, d := range []string{appdata, pharmacyHome} {
		if err := os.MkdirAll(cDrive(d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	work := t.TempDir()
	caFile := winPath(srv.CAFile)

	t.Run("keys generate, export and import", func(t *testing.T) {
		doctor.ok(t, "", "keys", "generate", "--name", "Dr Āwhina Ngata", "--email", doctorAddr)
		pharmacy.ok(t, "", "keys", "generate", "--name", "Rongoā Pharmacy", "--email", pharmacyAddr)
		if _, err := os.Stat(filepath.Join(cDrive(appdata), "securesend")); err != nil {
			t.Errorf("the doctor's home is not under %%APPDATA%%: %v", err)
		}
		for _, ex := range []struct {
			from, to user
			addr     string
		}{{doctor, pharmacy, doctorAddr}, {pharmacy, doctor, pharmacyAddr}} {
			r := ex.from.ok(t, "", "keys", "export")
			if !strings.Contains(r.stdout, "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
				t.Fatalf("%s: keys export printed no armored key", ex.from.name)
			}
			f := filepath.Join(work, ex.from.name+".asc")
			if err := os.WriteFile(f, []byte(r.stdout), 0o600); err != nil {
				t.Fatal(err)
			}
			ex.to.ok(t, "", "keys", "import", winPath(f), "--pin", "--email", ex.addr)
		}
		if r := doctor.ok(t, "", "keys", "list"); !strings.Contains(r.stdout, pharmacyAddr) {
			t.Errorf("the doctor's key list does not show the pharmacy's pinned key")
		}
	})

	t.Run("account add, password in Credential Manager", func(t *testing.T) {
		doctor.ok(t, srv.Password+"\n", "account", "add", "--name", "clinic", "--email", doctorAddr,
			"--smtp", mailserver.Addr(srv.SMTPS), "--smtp-security", "tls",
			"--imap", mailserver.Addr(srv.IMAPS), "--imap-security", "tls",
			"--ca-file", caFile, "--password-stdin", "--no-prompt")
		pharmacy.ok(t, srv.Password+"\n", "account", "add", "--name", "rx", "--email", pharmacyAddr,
			"--smtp", mailserver.Addr(srv.Submission), "--smtp-security", "starttls",
			"--imap", mailserver.Addr(srv.IMAPS), "--imap-security", "tls",
			"--ca-file", caFile, "--password-stdin", "--no-prompt")
		// The password went to Credential Manager, not to a file.
		for _, dir := range []string{filepath.Join(cDrive(appdata), "securesend"), cDrive(pharmacyHome)} {
			if f := grepTree(t, dir, srv.Password); f != "" {
				t.Errorf("the account password is in %s", f)
			}
		}
	})

	t.Run("send over implicit TLS with the CA file", func(t *testing.T) {
		r := doctor.ok(t, "", "send", "--account", "clinic", "--to", pharmacyAddr,
			"--subject", "Prescription from Wine", "--note", "SAMPLE, not a real prescription.",
			winPath(samples[0]), winPath(samples[1]))
		if strings.Contains(r.stdout+r.stderr, srv.Password) {
			t.Error("the password appears in the output")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		msgs, err := srv.WaitForMessages(ctx, pharmacyAddr, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(msgs[0]), "multipart/encrypted") {
			t.Error("the delivered message is not PGP/MIME encrypted")
		}
	})

	t.Run("send refuses a server whose CA is not trusted", func(t *testing.T) {
		r := doctor.run(t, srv.Password+"\n", "send", "--server", mailserver.Addr(srv.SMTPS), "--security", "tls",
			"--user", doctorAddr, "--password-stdin", "--from", doctorAddr, "--to", pharmacyAddr,
			"--subject", "must not leave", winPath(samples[0]))
		if r.code == 0 {
			t.Fatal("send to a server with an untrusted certificate succeeded")
		}
		if !strings.Contains(strings.ToLower(r.stderr), "certificate") {
			t.Errorf("the refusal does not say it is about the certificate: %s", r.stderr)
		}
	})

	// A message made by GnuPG, signed by a GP's gpg key and encrypted to
	// the pharmacy's securesend key, delivered through Postfix.
	g := pgptest.New(t)
	gpFpr := g.GenerateKey("Dr GnuPG Test <"+gpAddr+">", "")
	gpKey := filepath.Join(work, "gp.asc")
	if err := os.WriteFile(gpKey, g.Run(nil, "--armor", "--export", string(gpFpr)), 0o600); err != nil {
		t.Fatal(err)
	}
	pharmacyKey, err := os.ReadFile(filepath.Join(work, "pharmacy.asc"))
	if err != nil {
		t.Fatal(err)
	}
	g.Import(pharmacyKey)
	gpgMsg := gpgMessage(t, g, gpAddr, pharmacyAddr)
	gpgFile := filepath.Join(work, "from-gpg.eml")
	if err := os.WriteFile(gpgFile, []byte(gpgMsg), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("verify a gpg-made message", func(t *testing.T) {
		// Not yet pinned: the signer is unknown.
		r := pharmacy.run(t, "", "verify", "--json", winPath(gpgFile))
		if r.code == 0 || verdict(t, r.stdout) != "unknown-signer" {
			t.Errorf("before pinning: exit %d, verdict %q; want unknown-signer", r.code, verdict(t, r.stdout))
		}
		pharmacy.ok(t, "", "keys", "import", winPath(gpKey), "--pin", "--email", gpAddr)
		r = pharmacy.ok(t, "", "verify", "--json", winPath(gpgFile))
		if v := verdict(t, r.stdout); v != "verified" {
			t.Errorf("verdict %q, want verified", v)
		}
		tampered := filepath.Join(work, "tampered.eml")
		i := strings.Index(gpgMsg, "-----BEGIN PGP MESSAGE-----") + 200
		b := []byte(gpgMsg)
		b[i] ^= 0x01
		if err := os.WriteFile(tampered, b, 0o600); err != nil {
			t.Fatal(err)
		}
		r = pharmacy.run(t, "", "verify", "--json", winPath(tampered))
		if v := verdict(t, r.stdout); r.code == 0 || v == "verified" {
			t.Errorf("a tampered message: exit %d, verdict %q", r.code, v)
		}
	})

	t.Run("inbox fetch over IMAPS", func(t *testing.T) {
		sendSMTP(t, srv, gpAddr, pharmacyAddr, gpgMsg)
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if _, err := srv.WaitForMessages(ctx, pharmacyAddr, 2); err != nil {
			t.Fatal(err)
		}
		pharmacy.ok(t, "", "inbox", "fetch", "--account", "rx")
		r := pharmacy.ok(t, "", "inbox", "list")
		if n := strings.Count(strings.ToLower(r.stdout), "verified"); n < 2 {
			t.Errorf("inbox list shows %d verified items, want 2 (the doctor's and gpg's)", n)
		}
	})

	t.Run("inbox open with the program associated with PDF", func(t *testing.T) {
		// The "viewer" is cmd.exe copying the file it is given, registered
		// for .pdf in the prefix (HKCR: Wine 8 did not pick up HKCU\Software\Classes
		// here) as a PDF reader's installer would. The
		// decrypted copy lives under %TEMP% of the user with macrons.
		opened := filepath.Join(work, "opened by the viewer.pdf")
		for _, args := range [][]string{
			{"reg", "add", `HKCR\.pdf`, "/ve", "/d", "SecuresendTest.Viewer", "/f"},
			{"reg", "add", `HKCR\SecuresendTest.Viewer\shell\open\command`, "/ve", "/d",
				`cmd.exe /c copy /y "%1" "` + winPath(opened) + `"`, "/f"},
		} {
			cmd := exec.Command("wine", args...)
			cmd.Env = wineEnv()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("wine %v: %v\n%s", args, err, out)
			}
		}
		r := pharmacy.ok(t, "", "inbox", "open", "1", "--doc", "1")
		if !strings.Contains(r.stdout, winUser) {
			t.Errorf("the decrypted copy is not under the user's %%TEMP%%: %s", r.stdout)
		}
		want, err := os.ReadFile(samples[0])
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			got, err := os.ReadFile(opened)
			if err == nil && bytes.Equal(got, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the associated program did not get the document within a minute (%d bytes, %v)", len(got), err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	})

	t.Run("outbox from two processes at once", func(t *testing.T) {
		const jobs = 3
		for i := range jobs {
			doctor.ok(t, "", "send", "--account", "clinic", "--queue-only", "--to", pharmacyAddr,
				"--subject", fmt.Sprintf("Queued %d", i), winPath(samples[0]))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var wg sync.WaitGroup
		out := make([]string, 2)
		for p := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := doctor.command(ctx, "outbox", "run", "--account", "clinic")
				b, err := cmd.CombinedOutput()
				out[p] = fmt.Sprintf("exit %v\n%s", err, b)
			}()
		}
		wg.Wait()
		t.Logf("two concurrent 'outbox run':\n%s\n%s", out[0], out[1])
		before := 2 // the doctor's first message and gpg's
		wctx, wcancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer wcancel()
		if _, err := srv.WaitForMessages(wctx, pharmacyAddr, before+jobs); err != nil {
			t.Fatal(err)
		}
		// Both runs have exited; once Postfix's queue is empty every
		// message they submitted, a duplicate included, is in the mailbox.
		if err := srv.WaitQueueEmpty(wctx); err != nil {
			t.Fatal(err)
		}
		all, err := srv.FetchAll(ctx, pharmacyAddr)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != before+jobs {
			t.Errorf("the pharmacy has %d messages, want %d: a job was sent twice or not at all", len(all), before+jobs)
		}
		r := doctor.ok(t, "", "outbox", "list", "--json")
		if n := strings.Count(r.stdout, `"sent"`); n < jobs {
			t.Errorf("outbox list shows %d sent jobs, want at least %d", n, jobs)
		}
	})

	t.Run("audit verify", func(t *testing.T) {
		for _, u := range []user{doctor, pharmacy} {
			u.ok(t, "", "audit", "verify")
		}
	})
}

// verdict is the "verdict" field of verify --json's output.
func verdict(t *testing.T, out string) string {
	t.Helper()
	var v struct {
		Verdict string `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return "(no JSON: " + err.Error() + ")"
	}
	return v.Verdict
}

// gpgMessage is a PGP/MIME message made by GnuPG 2.2: a note and a PDF,
// signed by from's gpg key and encrypted to to's key in one OpenPGP
// message (RFC 3156 section 6.2).
func gpgMessage(t *testing.T, g *pgptest.GPG, from, to string) string {
	t.Helper()
	entity := "Content-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n" +
		"--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSigned by GnuPG, read under Wine.\r\n" +
		"--inner\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"referral.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJSBURVNUIE9OTFkK\r\n--inner--\r\n"
	f := filepath.Join(t.TempDir(), "entity")
	if err := os.WriteFile(f, []byte(entity), 0o600); err != nil {
		t.Fatal(err)
	}
	ct := g.Run(nil, "--armor", "--sign", "--encrypt", "--local-user", from, "--recipient", to, "--output", "-", f)
	ct = []byte(strings.ReplaceAll(string(ct), "\n", "\r\n"))
	return fmt.Sprintf("From: Dr GnuPG Test <%s>\r\nTo: %s\r\nSubject: from gpg\r\nDate: %s\r\n"+
		"Message-ID: <gpg-%d@example.test>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"enc\"\r\n\r\n"+
		"--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n"+
		"--enc\r\nContent-Type: application/octet-stream\r\n\r\n%s\r\n--enc--\r\n",
		from, to, time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), ct)
}

// sendSMTP submits msg as from over the server's implicit-TLS port.
func sendSMTP(t *testing.T, srv *mailserver.Server, from, to, msg string) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CAPEM)
	conn, err := tls.Dial("tcp", mailserver.Addr(srv.SMTPS), &tls.Config{RootCAs: pool, ServerName: mailserver.Host, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClient(conn, mailserver.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	steps := []func() error{
		func() error { return c.Auth(smtp.PlainAuth("", from, srv.Password, mailserver.Host)) },
		func() error { return c.Mail(from) },
		func() error { return c.Rcpt(to) },
		func() error {
			w, err := c.Data()
			if err != nil {
				return err
			}
			if _, err := w.Write([]byte(msg)); err != nil {
				return err
			}
			return w.Close()
		},
		c.Quit,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("submitting the gpg-made message: %v", err)
		}
	}
}

// grepTree returns the first file under dir that contains s, or "".
func grepTree(t *testing.T, dir, s string) string {
	t.Helper()
	found := ""
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), s) {
			found = p
		}
		return nil
	})
	return found
}
