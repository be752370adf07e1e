package gate

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

const (
	mainst  = "orders@mainst-pharmacy.example.nz"
	harbour = "scripts@harbour-pharmacy.example.nz"
	other   = "frontdesk@other.example.org"
)

// testCA is a PEM CA certificate made for the test.
func testCA(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gate test CA (TEST ONLY)"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// orgProfile is testdata/profile.toml with edit applied (nil: as is) and
// a second template, relay.kowhai.example.nz:587 STARTTLS with the CA
// caPEM, appended.
func orgProfile(t *testing.T, caPEM string, edit func(string) string) *profile.Profile {
	t.Helper()
	b, err := os.ReadFile("testdata/profile.toml")
	if err != nil {
		t.Fatal(err)
	}
	data := string(b)
	if edit != nil {
		data = edit(data)
	}
	data += "\n[[account]]\nname = \"Relay\"\nsmtp_host = \"relay.kowhai.example.nz\"\nsmtp_port = 587\nsmtp_security = \"starttls\"\nauth = \"password\"\nca_pem = '''\n" + caPEM + "'''\n"
	p, err := profile.Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func unlockAccounts(s string) string {
	return strings.Replace(s, `locked = ["policy.min_tls", "policy.encryption", "accounts"]`, `locked = ["policy.min_tls", "policy.encryption"]`, 1)
}

func serverRoute(t *testing.T, server string, sec send.Security, user string, ownCA bool) Route {
	t.Helper()
	r, err := ServerRoute(server, sec, user, ownCA)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCheckRoute: under locked accounts only a template's server, port,
// security and sign-in pass, for --server routes and stored accounts
// alike, and a CA of the user's own never does; without the lock (or a
// profile) any route passes.
func TestCheckRoute(t *testing.T) {
	ca := testCA(t)
	locked := New(profile.Effective(orgProfile(t, ca, nil)), nil)
	unlocked := New(profile.Effective(orgProfile(t, ca, unlockAccounts)), nil)
	unmanaged := New(profile.Effective(nil), nil)
	acct := func(smtp string, sec account.Security, auth account.AuthMethod, imap string) Route {
		a := &account.Account{Name: "mine", Email: "gp@kowhai.example.nz", SMTP: account.Server{Address: smtp, Security: sec}, Auth: auth}
		if imap != "" {
			a.IMAP = account.Server{Address: imap, Security: account.ImplicitTLS}
		}
		return AccountRoute(a)
	}
	for _, tc := range []struct {
		name  string
		route Route
		want  error // under locked accounts; nil: allowed
	}{
		{"template server", serverRoute(t, "smtp.kowhai.example.nz:465", send.ImplicitTLS, "gp", false), nil},
		{"template server, host in capitals", serverRoute(t, "SMTP.Kowhai.Example.NZ:465", send.ImplicitTLS, "gp", false), nil},
		{"second template, STARTTLS", serverRoute(t, "relay.kowhai.example.nz:587", send.StartTLS, "gp", false), nil},
		{"another server", serverRoute(t, "smtp.gmail.example.com:465", send.ImplicitTLS, "gp", false), profile.ErrAccountNotAllowed},
		{"template host, another port", serverRoute(t, "smtp.kowhai.example.nz:2525", send.ImplicitTLS, "gp", false), profile.ErrAccountNotAllowed},
		{"template host, STARTTLS instead of TLS", serverRoute(t, "smtp.kowhai.example.nz:465", send.StartTLS, "gp", false), profile.ErrAccountNotAllowed},
		{"template server without sign-in", serverRoute(t, "smtp.kowhai.example.nz:465", send.ImplicitTLS, "", false), profile.ErrAccountNotAllowed},
		{"template server with a CA of one's own", serverRoute(t, "smtp.kowhai.example.nz:465", send.ImplicitTLS, "gp", true), ErrOwnCA},
		{"IP address of the template's server", serverRoute(t, "192.0.2.10:465", send.ImplicitTLS, "gp", false), profile.ErrAccountNotAllowed},
		{"stored account on the template", acct("smtp.kowhai.example.nz:465", account.ImplicitTLS, account.AuthPassword, "imap.kowhai.example.nz:993"), nil},
		{"stored send-only account on the template", acct("smtp.kowhai.example.nz:465", account.ImplicitTLS, "", ""), nil},
		{"stored account, other IMAP server", acct("smtp.kowhai.example.nz:465", account.ImplicitTLS, account.AuthPassword, "imap.gmail.example.com:993"), profile.ErrAccountNotAllowed},
		{"stored account, OAuth instead of password", acct("smtp.kowhai.example.nz:465", account.ImplicitTLS, account.AuthMicrosoft, ""), profile.ErrAccountNotAllowed},
		{"stored account elsewhere", acct("smtp.gmail.example.com:465", account.ImplicitTLS, account.AuthPassword, ""), profile.ErrAccountNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := locked.CheckRoute(tc.route)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("locked: CheckRoute = %v, want %v", err, tc.want)
			}
			var v *profile.Violation
			if err != nil && (!errors.As(err, &v) || !strings.Contains(err.Error(), tc.route.String())) {
				t.Errorf("the refusal does not name the route %s: %v", tc.route, err)
			}
			if err := unlocked.CheckRoute(tc.route); err != nil {
				t.Errorf("unlocked: %v", err)
			}
			if err := unmanaged.CheckRoute(tc.route); err != nil {
				t.Errorf("unmanaged: %v", err)
			}
		})
	}
}

func TestServerRoute(t *testing.T) {
	r, err := ServerRoute("smtp.kowhai.example.nz:587", send.StartTLS, "gp", true)
	want := profile.AccountSettings{SMTPHost: "smtp.kowhai.example.nz", SMTPPort: 587, SMTPSecurity: "starttls", Auth: "password"}
	if err != nil || r.Server != want || !r.OwnCA || r.Account != "" || r.String() != "server smtp.kowhai.example.nz:587" {
		t.Errorf("ServerRoute = %+v, %v", r, err)
	}
	for _, bad := range []string{"smtp.kowhai.example.nz", ":465", "smtp.kowhai.example.nz:0", "smtp.kowhai.example.nz:99999", "smtp.kowhai.example.nz:smtps"} {
		if _, err := ServerRoute(bad, send.ImplicitTLS, "", false); err == nil {
			t.Errorf("ServerRoute(%q) accepted", bad)
		}
	}
}

// TestTransport: the policy's TLS floor and REQUIRETLS are raised, never
// lowered; under locked accounts the only extra CA is the route's
// template's (none for a template without ca_pem), whatever was set.
func TestTransport(t *testing.T) {
	ca := testCA(t)
	tls13 := func(s string) string {
		return strings.NewReplacer(`min_tls = "1.2"`, `min_tls = "1.3"`, `require_requiretls = false`, `require_requiretls = true`).Replace(s)
	}
	own := x509.NewCertPool()
	for _, tc := range []struct {
		name    string
		org     *profile.Profile
		route   Route
		in      send.Options
		wantTLS uint16
		wantRT  bool
		wantCA  string // "own", "template", "none"
	}{
		{"unmanaged keeps the flags", nil, serverRoute(t, "smtp.gmail.example.com:465", send.ImplicitTLS, "gp", true),
			send.Options{MinTLSVersion: tls.VersionTLS13, RequireTLS: true, RootCAs: own}, tls.VersionTLS13, true, "own"},
		{"unmanaged floor", nil, Route{}, send.Options{}, tls.VersionTLS12, false, "none"},
		{"policy raises", orgProfile(t, ca, tls13), serverRoute(t, "smtp.kowhai.example.nz:465", send.ImplicitTLS, "gp", false),
			send.Options{MinTLSVersion: tls.VersionTLS12}, tls.VersionTLS13, true, "none"},
		{"template CA replaces one's own", orgProfile(t, ca, nil), serverRoute(t, "relay.kowhai.example.nz:587", send.StartTLS, "gp", false),
			send.Options{RootCAs: own}, tls.VersionTLS12, false, "template"},
		{"template without CA: system roots only", orgProfile(t, ca, nil), serverRoute(t, "smtp.kowhai.example.nz:465", send.ImplicitTLS, "gp", false),
			send.Options{RootCAs: own}, tls.VersionTLS12, false, "none"},
		{"unlocked accounts keep their CA", orgProfile(t, ca, unlockAccounts), serverRoute(t, "smtp.gmail.example.com:465", send.ImplicitTLS, "gp", true),
			send.Options{RootCAs: own}, tls.VersionTLS12, false, "own"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := New(profile.Effective(tc.org), nil)
			opts := tc.in
			g.Transport(tc.route, &opts)
			if opts.MinTLSVersion != tc.wantTLS || opts.RequireTLS != tc.wantRT {
				t.Errorf("TLS %x REQUIRETLS %v, want %x %v", opts.MinTLSVersion, opts.RequireTLS, tc.wantTLS, tc.wantRT)
			}
			got := "none"
			switch {
			case opts.RootCAs == own:
				got = "own"
			case opts.RootCAs != nil:
				got = "template"
			}
			if got != tc.wantCA {
				t.Errorf("RootCAs: %s, want %s", got, tc.wantCA)
			}
		})
	}
}

// message is a message from the practice to the recipients, with one
// document.
func message(t *testing.T, to ...string) *send.Message {
	t.Helper()
	doc := filepath.Join(t.TempDir(), "script.pdf")
	if err := os.WriteFile(doc, []byte("%PDF-1.7\nscript\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &send.Message{From: mail.Address{Address: "gp@kowhai.example.nz"}, Documents: []send.Document{{Path: doc}}}
	for _, a := range to {
		m.To = append(m.To, mail.Address{Address: a})
	}
	return m
}

// TestCheckMessage: recipients outside the allowed domains or the
// directory, address literals, and recipients without a key where
// encryption is required are refused, each named; a directory recipient
// passes and must be encrypted to the directory's key.
func TestCheckMessage(t *testing.T) {
	g := New(profile.Effective(orgProfile(t, testCA(t), nil)), nil)
	for _, tc := range []struct {
		name string
		to   []string
		must bool
		want []error
	}{
		{"directory pharmacy", []string{mainst}, true, nil},
		{"both pharmacies", []string{mainst, harbour}, true, nil},
		{"allowed domain, not in the directory", []string{other}, false, []error{profile.ErrRecipientNotInDirectory}},
		{"forbidden domain", []string{"ward@gmail.example.com"}, false, []error{profile.ErrDomainNotAllowed, profile.ErrRecipientNotInDirectory}},
		{"address literal", []string{"orders@[192.0.2.10]"}, false, []error{profile.ErrInvalidAddress}},
		{"bare IP address", []string{"orders@192.0.2.10"}, false, []error{profile.ErrInvalidAddress}},
		{"pharmacy domain, not in the directory: no key", []string{"other@mainst-pharmacy.example.nz"}, false, []error{profile.ErrRecipientNotInDirectory, profile.ErrEncryptionRequired}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			must, err := g.CheckMessage(message(t, tc.to...))
			if len(tc.want) == 0 {
				if err != nil || must != tc.must {
					t.Errorf("CheckMessage = %v, %v; want %v, nil", must, err, tc.must)
				}
				return
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("CheckMessage = %v; want it to include %v", err, w)
				}
			}
		})
	}
	// the key for a directory recipient is the directory's, pinned
	k, e, err := g.Keys().Lookup(mainst)
	if err != nil || e.Trust != pgp.Pinned {
		t.Fatalf("Keys().Lookup(%s) = %v, %v", mainst, e, err)
	}
	r, _ := g.Policy().Profile().Recipient(mainst)
	if string(k.Fingerprint()) != r.Fingerprint {
		t.Errorf("key %s is not the directory's %s", k.Fingerprint(), r.Fingerprint)
	}
	if _, _, err := g.Keys().Lookup(other); !errors.Is(err, profile.ErrKeyNotPinned) {
		t.Errorf("a key outside the directory where users may not add keys: %v", err)
	}
	if _, err := g.CheckMessage(&send.Message{From: mail.Address{Address: "gp@kowhai.example.nz"}, To: []mail.Address{{Address: mainst}},
		Documents: []send.Document{{Path: filepath.Join(t.TempDir(), "gone.pdf")}}}); err == nil {
		t.Error("a missing document passes")
	}
}

// TestCheckJob: at delivery a queued job is checked against the policy in
// force now: domains, directory, encryption, the keys it is encrypted to
// and the route; every refusal wraps outbox.ErrRefused and names why.
func TestCheckJob(t *testing.T) {
	org := orgProfile(t, testCA(t), nil)
	g := New(profile.Effective(org), nil)
	dir, _ := org.Recipient(mainst)
	dirH, _ := org.Recipient(harbour)
	otherKey, err := pgp.ReadPublicKey(mustOpen(t, "testdata/recipient_other_clinic.asc"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := serverRoute(t, "smtp.kowhai.example.nz:465", send.ImplicitTLS, "gp", false)
	job := func(encrypted bool, keys map[string]string, to ...string) outbox.Record {
		return outbox.Record{Job: outbox.Job{Envelope: send.Envelope{From: "gp@kowhai.example.nz", To: to}, Encrypted: encrypted, EncryptedTo: keys},
			Documents: []send.DocumentInfo{{Name: "script.pdf", Size: 1 << 20}}}
	}
	for _, tc := range []struct {
		name  string
		rec   outbox.Record
		route Route
		want  []string // in the error; none: allowed
	}{
		{"encrypted to the directory key", job(true, map[string]string{mainst: dir.Fingerprint}, mainst), tmpl, nil},
		{"two directory recipients", job(true, map[string]string{mainst: dir.Fingerprint, harbour: dirH.Fingerprint}, mainst, harbour), tmpl, nil},
		{"queued unencrypted", job(false, nil, mainst), tmpl, []string{mainst + ": your organisation's policy requires encryption, and this message was queued unencrypted"}},
		{"encrypted to another key", job(true, map[string]string{mainst: string(otherKey.Fingerprint())}, mainst), tmpl, []string{mainst + ": this key is not the one in your organisation's directory"}},
		{"keys not recorded (older version)", job(true, nil, mainst), tmpl, []string{"queued without a record of the keys"}},
		{"forbidden domain", job(true, map[string]string{"ward@gmail.example.com": string(otherKey.Fingerprint())}, "ward@gmail.example.com"), tmpl,
			[]string{"ward@gmail.example.com: your organisation's policy does not allow sending to this domain", "not in your organisation's directory"}},
		{"address literal", job(false, nil, "orders@[192.0.2.10]"), tmpl, []string{"orders@[192.0.2.10]: not a valid e-mail address"}},
		{"server not allowed", job(true, map[string]string{mainst: dir.Fingerprint}, mainst), serverRoute(t, "smtp.gmail.example.com:465", send.ImplicitTLS, "gp", false),
			[]string{"server smtp.gmail.example.com:465: your organisation's profile locks the mail accounts"}},
		{"document too large", func() outbox.Record {
			r := job(true, map[string]string{mainst: dir.Fingerprint}, mainst)
			r.Documents[0].Size = 21 << 20
			return r
		}(), tmpl, []string{"script.pdf: document is larger than your organisation's policy allows"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := g.CheckJob(tc.rec, tc.route)
			if len(tc.want) == 0 {
				if err != nil {
					t.Errorf("CheckJob = %v", err)
				}
				return
			}
			if !errors.Is(err, outbox.ErrRefused) {
				t.Fatalf("CheckJob = %v, want outbox.ErrRefused", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckJob = %v\nwant %q in it", err, w)
				}
			}
		})
	}
	// unmanaged, anything a user could queue goes
	if err := New(profile.Effective(nil), nil).CheckJob(job(false, nil, "ward@gmail.example.com"), serverRoute(t, "smtp.gmail.example.com:465", send.ImplicitTLS, "", false)); err != nil {
		t.Errorf("unmanaged: %v", err)
	}
}

func mustOpen(t *testing.T, path string) io.Reader {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReader(string(b))
}

// TestEncryptedTo: one fingerprint per recipient, lower-cased addresses;
// nothing when not encrypted or when the keys do not pair up.
func TestEncryptedTo(t *testing.T) {
	k, err := pgp.ReadPublicKey(mustOpen(t, "testdata/recipient_other_clinic.asc"))
	if err != nil {
		t.Fatal(err)
	}
	m := message(t, "Orders@Other.Example.org")
	m.Cc = []mail.Address{{Address: "copy@other.example.org"}}
	got := EncryptedTo(m, send.Protection{Encrypt: true, Recipients: []*pgp.PublicKey{k, k}})
	if len(got) != 2 || got["orders@other.example.org"] != string(k.Fingerprint()) || got["copy@other.example.org"] != string(k.Fingerprint()) {
		t.Errorf("EncryptedTo = %v", got)
	}
	if got := EncryptedTo(m, send.Protection{Recipients: []*pgp.PublicKey{k, k}}); got != nil {
		t.Errorf("not encrypted: %v", got)
	}
	if got := EncryptedTo(m, send.Protection{Encrypt: true, Recipients: []*pgp.PublicKey{k}}); got != nil {
		t.Errorf("keys do not pair up: %v", got)
	}
}

// guardFixture is what a delivery through Guard needs: the gate of the
// test organisation's policy, the route of its account template, and a
// real outbox in dir, encrypted at rest with a fresh key.
type guardFixture struct {
	g         *Gate
	tmpl      Route
	ob        *outbox.Outbox
	dir       string
	mainstKey string // fingerprint of the directory's key for mainst
}

func newGuardFixture(t *testing.T) guardFixture {
	t.Helper()
	org := orgProfile(t, testCA(t), nil)
	rcpt, _ := org.Recipient(mainst)
	key := make([]byte, atrest.KeySize)
	rand.Read(key)
	f := guardFixture{
		g:         New(profile.Effective(org), nil),
		tmpl:      serverRoute(t, "smtp.kowhai.example.nz:465", send.ImplicitTLS, "gp", false),
		dir:       filepath.Join(t.TempDir(), "outbox"),
		mainstKey: rcpt.Fingerprint,
	}
	ob, err := outbox.Open(f.dir, key, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.ob = ob
	return f
}

// enqueue queues a message from gp to mainst with note ("": none),
// recorded as encrypted or not and to keys, and returns its job id.
func (f guardFixture) enqueue(t *testing.T, note string, encrypted bool, keys map[string]string) string {
	t.Helper()
	m := message(t, mainst)
	m.Note = note
	id, _ := send.NewMessageID("kowhai.example.nz")
	m.MessageID, m.Date = id, time.Now()
	jobID, err := f.ob.Enqueue(t.Context(), outbox.Job{Envelope: send.Envelope{From: m.From.Address, To: []string{mainst}}, MessageID: id,
		Encrypted: encrypted, EncryptedTo: keys}, func(w io.Writer) ([]send.DocumentInfo, error) { return send.Compose(w, m) })
	if err != nil {
		t.Fatal(err)
	}
	return jobID
}

// TestGuard: every delivery of a real outbox goes through the gate: a job
// the gate refuses never reaches submit (so no secret is read and nothing
// is sent) and fails with the reasons; an allowed job reaches submit with
// the gate and route that allowed it; an error loading the policy or
// finding the route stops the attempt too.
func TestGuard(t *testing.T) {
	f := newGuardFixture(t)
	g, tmpl, ob := f.g, f.tmpl, f.ob
	allowed := f.enqueue(t, "", true, map[string]string{mainst: f.mainstKey})
	plain := f.enqueue(t, "", false, nil)

	var submitted []string
	submit := func(ctx context.Context, got *Gate, r Route, env send.Envelope, body io.Reader) (*send.Result, error) {
		rec, _ := outbox.JobRecord(ctx)
		submitted = append(submitted, rec.ID)
		if got != g || r != tmpl {
			t.Errorf("submit got gate %p route %v", got, r)
		}
		io.Copy(io.Discard, body)
		return &send.Result{}, nil
	}
	current := func() (*Gate, error) { return g, nil }
	route := func(context.Context, outbox.Record) (Route, error) { return tmpl, nil }

	broken := errors.New("organisation profile: altered since it was signed")
	noAccount := errors.New("account gone")
	for _, tc := range []struct {
		name    string
		current func() (*Gate, error)
		route   func(context.Context, outbox.Record) (Route, error)
		want    error
	}{
		{"policy cannot be loaded", func() (*Gate, error) { return nil, broken }, route, broken},
		{"route cannot be found", current, func(context.Context, outbox.Record) (Route, error) { return Route{}, noAccount }, noAccount},
	} {
		rec, err := ob.Deliver(t.Context(), allowed, Guard(tc.current, tc.route, submit))
		if !errors.Is(err, tc.want) || rec.State != outbox.Deferred || len(submitted) != 0 {
			t.Errorf("%s: %v, %s, submitted %v", tc.name, err, rec.State, submitted)
		}
		if _, err := ob.Retry(allowed); err != nil {
			t.Fatal(err)
		}
	}

	recs, err := ob.RunDue(t.Context(), Guard(current, route, submit))
	if err != nil || len(recs) != 2 {
		t.Fatalf("RunDue = %v, %v", recs, err)
	}
	if len(submitted) != 1 || submitted[0] != allowed {
		t.Errorf("submitted %v, want only %s", submitted, allowed)
	}
	for _, r := range recs {
		switch r.ID {
		case allowed:
			if r.State != outbox.Sent {
				t.Errorf("allowed job: %s %q", r.State, r.LastError)
			}
		case plain:
			if r.State != outbox.Failed || !strings.Contains(r.LastError, "queued unencrypted") || !strings.Contains(r.LastError, "refused by your organisation's policy at delivery") {
				t.Errorf("refused job: %s %q", r.State, r.LastError)
			}
		}
	}

	// outside a delivery there is no job record, which no policy that
	// requires encryption allows
	env := send.Envelope{From: "gp@kowhai.example.nz", To: []string{mainst}}
	if _, err := Guard(current, route, submit)(context.Background(), env, strings.NewReader("")); !errors.Is(err, outbox.ErrRefused) {
		t.Errorf("no job record: %v", err)
	}
}
