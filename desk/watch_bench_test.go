package desk

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/mailserver"
	"github.com/securesend/securesend/send"
)

// BenchmarkWatchDovecot delivers b.N signed and encrypted messages
// (Alice to Bob, one document of SECURESEND_BENCH_DOC_KB KiB each,
// default 1024) to a real Dovecot through Postfix, then times one
// "watch --once --drop" over them: fetch, verify, store, drop. It
// reports messages per second and the process's peak RSS during the
// watch (VmHWM, reset before it). The figure:
//
//	scripts/with-keyring.sh go test -run '^$' -bench WatchDovecot -benchtime 1000x ./desk/
func BenchmarkWatchDovecot(b *testing.B) {
	kb := 1024
	if v := os.Getenv("SECURESEND_BENCH_DOC_KB"); v != "" {
		var err error
		if kb, err = strconv.Atoi(v); err != nil || kb <= 0 {
			b.Fatalf("SECURESEND_BENCH_DOC_KB=%q", v)
		}
	}
	srv := mailserver.StartT(b, mailserver.Options{Domain: "pharmacy.test", Users: []string{"bob"}})
	dir := b.TempDir()
	d, err := Open(Options{Getenv: func(k string) string {
		if k == home.EnvVar {
			return dir
		}
		return ""
	}})
	if err != nil {
		b.Fatal(err)
	}
	ks, err := d.Keys()
	if err != nil {
		b.Fatal(err)
	}
	read := func(name string) *pgp.Key {
		data, err := os.ReadFile(filepath.Join("..", "receive", "testdata", "keys", "test_only_"+name+".sec.asc"))
		if err != nil {
			b.Fatal(err)
		}
		k, err := pgp.ReadSecretKey(bytes.NewReader(data), nil)
		if err != nil {
			b.Fatal(err)
		}
		return k
	}
	alice, bob := read("alice"), read("bob")
	if _, err := ks.AddSecret(bob); err != nil {
		b.Fatal(err)
	}
	var pub bytes.Buffer
	alice.Public().WriteArmored(&pub)
	if _, err := ks.Import(&pub, pgp.ImportOptions{Pin: true}); err != nil {
		b.Fatal(err)
	}
	a := account.Account{Name: "pharmacy", Email: "bob@pharmacy.test", Auth: account.AuthPassword, CAFile: srv.CAFile,
		SMTP: account.Server{Address: mailserver.Addr(srv.SMTPS), Security: account.ImplicitTLS},
		IMAP: account.Server{Address: mailserver.Addr(srv.IMAPS), Security: account.ImplicitTLS}}
	if err := d.Accounts().Add(a, account.Credentials{Password: srv.Password}); err != nil {
		b.Fatalf("%v (run under scripts/with-keyring.sh)", err)
	}
	b.Cleanup(func() { d.Accounts().Remove("pharmacy") })

	docPath := filepath.Join(b.TempDir(), "script.pdf")
	c, err := smtp.Dial(mailserver.Addr(srv.Plain))
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		content := make([]byte, kb<<10)
		rand.Read(content)
		copy(content, "%PDF-1.4\n")
		if err := os.WriteFile(docPath, content, 0o600); err != nil {
			b.Fatal(err)
		}
		m := &send.Message{
			From: mail.Address{Address: "alice@clinic.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
			Subject: "Prescription", Documents: []send.Document{{Path: docPath}},
			MessageID: fmt.Sprintf("watch-bench-%d-%d@clinic.test", time.Now().UnixNano(), i),
		}
		var buf bytes.Buffer
		if _, err := send.ComposeProtected(&buf, m, send.Protection{Signer: alice, Recipients: []*pgp.PublicKey{bob.Public()}, Encrypt: true}); err != nil {
			b.Fatal(err)
		}
		if err := c.SendMail("alice@clinic.test", []string{"bob@pharmacy.test"}, &buf); err != nil {
			b.Fatal(err)
		}
	}
	c.Quit()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := srv.WaitQueueEmpty(ctx); err != nil {
		b.Fatal(err)
	}
	drop := b.TempDir()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) //nolint:errcheck // Linux: resets VmHWM; elsewhere the peak is the process's
	b.ResetTimer()
	start := time.Now()
	delivered := 0
	err = d.Watch(ctx, WatchOptions{Drop: drop, Once: true, Event: func(ev WatchEvent) {
		if ev.Kind == EventDelivered {
			delivered++
		}
	}})
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if delivered != b.N {
		b.Fatalf("%d of %d documents dropped", delivered, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
}

// peakRSSMB is the process's peak resident set (VmHWM) in MB, or 0 where
// /proc does not say.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
