package relay

// Attacks on the scan-to-send relay as a device on the network or a
// hostile MFD, over loopback with raw sockets and go-smtp's client.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/internal/doccheck"
	"github.com/securesend/securesend/internal/winname"
)

// signedIn is a go-smtp client that STARTTLSed and signed in as
// frontdesk.
func signedIn(t *testing.T, tr *testRelay) *smtp.Client {
	t.Helper()
	c, err := smtp.DialStartTLS(tr.addr, &tls.Config{InsecureSkipVerify: true}) // a test: the relay's own cert
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Auth(sasl.NewPlainClient("", "frontdesk", devicePassword)); err != nil {
		t.Fatal(err)
	}
	return c
}

// send sends msg to lab@results.example.nz and returns the reply to DATA.
func sendRaw(c *smtp.Client, msg string) error {
	if err := c.Mail("mfd@clinic.test", nil); err != nil {
		return err
	}
	if err := c.Rcpt("lab@results.example.nz", nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// leftovers lists what is left in the relay's temporary folder.
func leftovers(t *testing.T, tr *testRelay) []string {
	t.Helper()
	es, err := os.ReadDir(tr.tempDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func scanPDF(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "good_scan.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func attachment(name string, body []byte) string {
	return "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + wrap76(base64.StdEncoding.EncodeToString(body)) + "\r\n"
}

func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

const mixedHeader = "From: mfd@clinic.test\r\nTo: lab@results.example.nz\r\nSubject: scan\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"

// TestRelayAttackAuthBeforeTLS: AUTH on a plain connection from an address
// not allowed plain text is refused with 530, the password is never
// checked, and MAIL is refused too.
func TestRelayAttackAuthBeforeTLS(t *testing.T) {
	tr := startRelay(t, func(o *Options) { o.PlainFrom = []netip.Addr{netip.MustParseAddr("127.0.0.2")} })
	conn, err := net.Dial("tcp", tr.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	lines := func() string {
		var all string
		for {
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v (so far %q)", err, all)
			}
			all += l
			if len(l) < 4 || l[3] == ' ' {
				return all
			}
		}
	}
	lines()
	fmt.Fprintf(conn, "EHLO mfd\r\n")
	if ehlo := lines(); strings.Contains(ehlo, "AUTH") {
		t.Errorf("AUTH offered before STARTTLS:\n%s", ehlo)
	}
	fmt.Fprintf(conn, "AUTH PLAIN %s\r\n", base64.StdEncoding.EncodeToString([]byte("\x00frontdesk\x00"+devicePassword)))
	if got := lines(); !strings.HasPrefix(got, "530") {
		t.Errorf("AUTH before TLS: %q, want 530", got)
	}
	fmt.Fprintf(conn, "MAIL FROM:<a@b>\r\n")
	if got := lines(); !strings.HasPrefix(got, "530") {
		t.Errorf("MAIL before TLS: %q, want 530", got)
	}
	if strings.Contains(tr.log.String(), "sign-in") {
		t.Errorf("the password was checked:\n%s", tr.log)
	}
}

// TestRelayAttackSTARTTLSInjection: commands pipelined after STARTTLS in
// the same plain-text packet (a man in the middle's AUTH) never count:
// the handshake fails, or the TLS session starts signed out.
func TestRelayAttackSTARTTLSInjection(t *testing.T) {
	tr := startRelay(t, nil)
	conn, err := net.Dial("tcp", tr.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	readReply := func() string {
		var all string
		for {
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			l, err := r.ReadString('\n')
			if err != nil {
				return all
			}
			all += l
			if len(l) < 4 || l[3] == ' ' {
				return all
			}
		}
	}
	readReply()
	fmt.Fprintf(conn, "EHLO mfd\r\n")
	readReply()
	auth := base64.StdEncoding.EncodeToString([]byte("\x00frontdesk\x00" + devicePassword))
	fmt.Fprintf(conn, "STARTTLS\r\nAUTH PLAIN %s\r\nMAIL FROM:<x@y>\r\n", auth)
	if got := readReply(); !strings.HasPrefix(got, "220") {
		t.Fatalf("STARTTLS: %q", got)
	}
	if r.Buffered() > 0 {
		t.Fatalf("the relay answered the injected commands in plain text")
	}
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		return // the injected bytes broke the handshake: nothing was run
	}
	r = bufio.NewReader(tc)
	conn = tc
	fmt.Fprintf(tc, "EHLO mfd\r\n")
	readReply()
	fmt.Fprintf(tc, "MAIL FROM:<x@y>\r\n")
	if got := readReply(); !strings.HasPrefix(got, "530") {
		t.Errorf("after STARTTLS with injected AUTH, MAIL: %q, want 530", got)
	}
}

// TestRelayAttackPlainFromMapped: PlainFrom written as an IPv4-mapped IPv6
// address allows that IPv4 device, and only it.
func TestRelayAttackPlainFromMapped(t *testing.T) {
	for _, tc := range []struct {
		plain string
		want  bool
	}{{"::ffff:127.0.0.1", true}, {"::ffff:127.0.0.2", false}, {"127.0.0.2", false}} {
		tr := startRelay(t, func(o *Options) { o.PlainFrom = []netip.Addr{netip.MustParseAddr(tc.plain)} })
		c, err := smtp.Dial(tr.addr)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Auth(sasl.NewPlainClient("", "frontdesk", devicePassword))
		c.Close()
		if (err == nil) != tc.want {
			t.Errorf("PlainFrom %s, plain AUTH from 127.0.0.1: %v, want allowed %v", tc.plain, err, tc.want)
		}
	}
}

// TestRelayAttackHostileMessages: hostile MIME is refused with 5xx (or
// accepted only with safe names), and no temporary file is left on any
// path.
func TestRelayAttackHostileMessages(t *testing.T) {
	pdf := scanPDF(t)
	manyParts := mixedHeader
	for i := range maxParts + 5 {
		manyParts += attachment(fmt.Sprintf("p%d.pdf", i), pdf)
	}
	manyParts += "--b--\r\n"
	nested := "From: a@b\r\nMIME-Version: 1.0\r\n"
	for i := range 500 {
		nested += fmt.Sprintf("Content-Type: multipart/mixed; boundary=\"n%d\"\r\n\r\n--n%d\r\n", i, i)
	}
	nested += "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=x.pdf\r\n\r\n" + string(pdf) + "\r\n"
	longHeader := "From: a@b\r\nX-Long: " + strings.Repeat("a", 1900) + "\r\n" + strings.Repeat(" "+strings.Repeat("b", 1900)+"\r\n", 400) +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n" + attachment("x.pdf", pdf) + "--b--\r\n"
	huge := mixedHeader + attachment("huge.pdf", bytes.Repeat(pdf, 1+(2<<20)/len(pdf))) + "--b--\r\n"
	goodThenBad := mixedHeader + attachment("a.pdf", pdf) + attachment("b.pdf", []byte("MZ not a document")) + "--b--\r\n"
	badBase64 := mixedHeader + "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!@@@@\r\n--b--\r\n"
	for _, tc := range []struct {
		name string
		msg  string
		code int
	}{
		{"many parts", manyParts, 554},
		{"nested 500 deep", nested, 554},
		{"long folded header", longHeader, 250},
		{"over the size limit", huge, 552},
		{"a good scan then a bad one", goodThenBad, 554},
		{"bad base64", badBase64, 554},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := startRelay(t, func(o *Options) { o.MaxMessageBytes = 2 << 20 })
			c := signedIn(t, tr)
			err := sendRaw(c, tc.msg)
			if got := smtpCode(err); got != tc.code && !(tc.code == 250 && err == nil) {
				t.Errorf("reply %v (code %d), want %d", err, got, tc.code)
			}
			c.Quit()
			time.Sleep(50 * time.Millisecond)
			if l := leftovers(t, tr); len(l) != 0 {
				t.Errorf("left in the temporary folder: %v", l)
			}
		})
	}
}

// TestRelayAttackHostileNames: attachment names with folders, NUL,
// control characters and Windows device names reach the Submitter only
// as safe base names inside the message's private folder.
func TestRelayAttackHostileNames(t *testing.T) {
	pdf := scanPDF(t)
	names := []string{"../../../etc/cron.d/x.pdf", "..\\..\\boot.pdf", "a\x00b.pdf", "CON.pdf", "nul", "LPT1.pdf", "com3 .pdf", "x?*<>|\".pdf", "..", "/"}
	msg := mixedHeader
	for _, n := range names {
		msg += attachment(n, pdf)
	}
	msg += "--b--\r\n"
	tr := startRelay(t, nil)
	c := signedIn(t, tr)
	if err := sendRaw(c, msg); err != nil {
		t.Fatal(err)
	}
	subs := tr.sub.submissions()
	if len(subs) != 1 || len(subs[0].Documents) != len(names) {
		t.Fatalf("submissions %+v", subs)
	}
	for i, d := range subs[0].Documents {
		rel, err := filepath.Rel(tr.tempDir, d.Path)
		if err != nil || strings.HasPrefix(rel, "..") || filepath.Base(d.Path) != d.Name {
			t.Errorf("%q: path %s outside the private folder", names[i], d.Path)
		}
		if strings.ContainsAny(d.Name, "/\\\x00:?*<>|\"") || winname.Reserved(d.Name) {
			t.Errorf("%q: name %q is not safe", names[i], d.Name)
		}
	}
}

// TestDocNameDeviceNames: no document name is a Windows device name (a
// relay on a Windows PC would write the scan to the device) or holds a
// character Windows refuses in a file name.
func TestDocNameDeviceNames(t *testing.T) {
	for _, n := range []string{"CON.pdf", "con", "Aux.PDF", "nul.tar.pdf", "COM1.pdf", "lpt9", "CONIN$.pdf", "com¹.pdf", "prn .pdf"} {
		if got := docName(n, 1, doccheck.PDF); winname.Reserved(got) {
			t.Errorf("docName(%q) = %q, a device name", n, got)
		}
	}
	// Characters a Windows file name cannot hold would fail the rename
	// there: 451, and the device tries again for ever.
	if got := docName(`x?*<>|".pdf`, 1, doccheck.PDF); strings.ContainsAny(got, `?*<>|"`) {
		t.Errorf("docName = %q", got)
	}
}

// TestRelayAttackDevicesSymlink: a device file planted as a symbolic
// link (to a file of the attacker's devices) is refused, not read.
func TestRelayAttackDevicesSymlink(t *testing.T) {
	tmpl, err := deviceTemplate()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	planted := filepath.Join(t.TempDir(), "attacker-devices.json")
	if err := os.WriteFile(planted, tmpl, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "devices.json")
	if err := os.Symlink(planted, path); err != nil {
		t.Fatal(err)
	}
	d := OpenDevices(path)
	if name, err := d.Check("frontdesk", devicePassword); err == nil || errors.Is(err, ErrAuthFailed) {
		t.Errorf("Check through a planted link: %q, %v; want a refusal naming the link", name, err)
	}
	if _, err := d.List(); err == nil {
		t.Errorf("List through a planted link succeeded")
	}
}
