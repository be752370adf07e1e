package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/mail"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/keychain/keychaintest"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/mailserver"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// ackHome is one securesend home in the acknowledgement test: its Desk
// (in this process) and its directory (for the CLI).
type ackHome struct {
	dir   string
	d     *desk.Desk
	addr  string
	warns *[]error
}

func newAckHome(t *testing.T, srv *mailserver.Server, name, addr string) *ackHome {
	t.Helper()
	dir := t.TempDir()
	var warns []error
	d := openHome(t, dir, &warns)
	ks, err := d.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Generate(name+" TEST ONLY", addr); err != nil {
		t.Fatal(err)
	}
	addAccount(t, d, srv, name, addr, account.Server{Address: mailserver.Addr(srv.Submission), Security: account.StartTLS})
	return &ackHome{dir: dir, d: d, addr: addr, warns: &warns}
}

// public is h's own public key.
func (h *ackHome) public(t *testing.T) *pgp.PublicKey {
	t.Helper()
	ks, _ := h.d.Keys()
	e, err := ks.Own()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ks.Public(e.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// secret is h's own secret key.
func (h *ackHome) secret(t *testing.T) *pgp.Key {
	t.Helper()
	ks, _ := h.d.Keys()
	e, err := ks.Own()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ks.SecretKey(e.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// pin imports k into h's key store, pinned.
func (h *ackHome) pin(t *testing.T, k *pgp.PublicKey) {
	t.Helper()
	ks, _ := h.d.Keys()
	var b bytes.Buffer
	if err := k.WriteArmored(&b); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Import(&b, pgp.ImportOptions{Pin: true}); err != nil {
		t.Fatal(err)
	}
}

// fetch fetches h's INBOX in this process.
func (h *ackHome) fetch(t *testing.T) *desk.Fetched {
	t.Helper()
	res, err := h.d.Fetch(context.Background(), desk.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// cli runs the securesend binary in h's home.
func (h *ackHome) cli(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), home.EnvVar+"="+h.dir, profile.SystemDirEnv+"="+noSystemProfile(h.dir))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("securesend %v: %v", args, err)
	}
	t.Logf("securesend %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	return r
}

// auditLog is h's audit log as JSON.
func (h *ackHome) auditLog(t *testing.T) string {
	t.Helper()
	l, err := h.d.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := l.Export(&b, audit.JSON, time.Time{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// inject hands a raw message to Postfix's plain port, as mail from
// another domain.
func inject(t *testing.T, srv *mailserver.Server, from, to string, raw []byte) {
	t.Helper()
	c, err := smtp.Dial(mailserver.Addr(srv.Plain))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail(from, []string{to}, bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
}

func waitMessages(t *testing.T, srv *mailserver.Server, addr string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := srv.WaitForMessages(ctx, addr, n); err != nil {
		t.Fatalf("%s: %v\n%s", addr, err, srv.Logs())
	}
}

// TestAckPostfixDovecot is the acknowledgement loop on a real Postfix and
// Dovecot with two homes, a clinic and a pharmacy: send; the pharmacy's
// fetch verifies and acknowledges automatically; the clinic's fetch turns
// the job to acknowledged. A forged acknowledgement (signed by another
// key) is ignored and audited. The pharmacist accepts, then rejects with
// a reason through the CLI (each once); the clinic sees "rejected" with
// the reason in `outbox list --json` and `outbox show`. Messages that are
// not verified (an unknown signer) or cannot be decrypted get no
// acknowledgement.
func TestAckPostfixDovecot(t *testing.T) {
	keychaintest.Require(t)
	srv := mailserver.StartT(t, mailserver.Options{Domain: "ack.test", Users: []string{"clinic", "pharmacy", "mallory"}})
	clinicAddr, pharmacyAddr, malloryAddr := srv.Users[0], srv.Users[1], srv.Users[2]
	clinic := newAckHome(t, srv, "clinic", clinicAddr)
	pharmacy := newAckHome(t, srv, "pharmacy", pharmacyAddr)
	clinic.pin(t, pharmacy.public(t))
	pharmacy.pin(t, clinic.public(t))
	mallory, err := pgp.Generate("Mallory TEST ONLY", malloryAddr, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Send.
	ob, err := clinic.d.Outbox(desk.OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job, err := ob.Send(ctx, desk.Draft{Via: desk.Via{Account: "clinic"}, Message: &send.Message{
		From: mail.Address{Address: clinicAddr}, To: []mail.Address{{Name: "Pharmacy", Address: pharmacyAddr}},
		Subject: "Prescription (TEST ONLY)", Documents: []send.Document{{Path: samples[0]}}}})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ob.Deliver(ctx, job, nil)
	if err != nil || rec.State != "sent" {
		t.Fatalf("deliver: %v %+v", err, rec)
	}
	if tr := ob.Track(rec); tr.State != desk.TrackSent || tr.Overdue {
		t.Errorf("just sent: %+v", tr)
	}

	// The pharmacy fetches: verified, acknowledged automatically.
	waitMessages(t, srv, pharmacyAddr, 1)
	res := pharmacy.fetch(t)
	if len(res.New) != 1 || res.New[0].Verdict != receive.Verified {
		t.Fatalf("pharmacy fetch: %+v", res.New)
	}
	rxItem := res.New[0].ID
	if len(res.Acknowledgements) != 1 {
		t.Fatalf("acknowledgements queued: %v (warnings %v)", res.Acknowledgements, *pharmacy.warns)
	}
	pob, err := pharmacy.d.Outbox(desk.OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := pob.Get(res.Acknowledgements[0]); err != nil || r.State != "sent" {
		t.Fatalf("the acknowledgement was not sent: %v %+v", err, r)
	}

	// The clinic fetches: acknowledged, and the acknowledgement is not an
	// inbox document.
	waitMessages(t, srv, clinicAddr, 1)
	cres := clinic.fetch(t)
	if len(cres.New) != 1 || cres.New[0].Verdict != receive.Verified || len(cres.New[0].Documents) != 0 {
		t.Fatalf("clinic fetch: %+v", cres.New)
	}
	if len(cres.Acknowledgements) != 0 {
		t.Errorf("an acknowledgement was acknowledged: %v", cres.Acknowledgements)
	}
	rec, _ = ob.Get(job)
	tr := ob.Track(rec)
	if tr.State != desk.TrackAcknowledged || tr.Receipt == nil || tr.From != pharmacyAddr || tr.Receipt.Documents[0].SHA256 != rec.Documents[0].SHA256 {
		t.Fatalf("after the acknowledgement: %+v", tr)
	}

	// A forged rejection, signed by Mallory's key in the pharmacy's name.
	forged := forgeAck(t, mallory, pharmacyAddr, clinicAddr, clinic.public(t), rec)
	inject(t, srv, pharmacyAddr, clinicAddr, forged)
	waitMessages(t, srv, clinicAddr, 2)
	cres = clinic.fetch(t)
	if len(cres.New) != 1 || cres.New[0].Verdict == receive.Verified {
		t.Fatalf("forged acknowledgement: %+v", cres.New)
	}
	if len(cres.New[0].Documents) != 2 {
		t.Errorf("the forged acknowledgement's parts are not kept as documents: %+v", cres.New[0].Documents)
	}
	if tr := ob.Track(rec); tr.State != desk.TrackAcknowledged {
		t.Errorf("a forged acknowledgement changed the state: %+v", tr)
	}
	if log := clinic.auditLog(t); !strings.Contains(log, `"kind":"ack.ignored"`) || !strings.Contains(log, "it is not verified") {
		t.Errorf("the forged acknowledgement is not audited as ignored:\n%s", log)
	}

	// The pharmacist accepts, then rejects with a reason (CLI), each once.
	if err := pharmacy.d.Acknowledge(ctx, rxItem, ack.Accepted, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := pob.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if r := pharmacy.cli(t, "inbox", "ack", rxItem, "--reject", "Dose unclear, please phone"); r.code != 0 || !strings.Contains(r.stdout, "Sent.") {
		t.Fatalf("inbox ack --reject: %d", r.code)
	}
	if r := pharmacy.cli(t, "inbox", "ack", rxItem, "--reject", "again"); r.code == 0 || !strings.Contains(r.stderr, "already sent") {
		t.Errorf("a second rejection: exit %d", r.code)
	}
	waitMessages(t, srv, clinicAddr, 4)
	clinic.fetch(t)
	r := clinic.cli(t, "outbox", "list", "--json")
	var jobs []struct {
		ID              string `json:"id"`
		State           string `json:"state"`
		OutboxState     string `json:"outbox_state"`
		Acknowledgement *struct {
			Kind, From, Reason string
		} `json:"acknowledgement"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &jobs); err != nil || len(jobs) != 1 {
		t.Fatalf("outbox list --json: %v %d", err, len(jobs))
	}
	if j := jobs[0]; j.State != "rejected" || j.OutboxState != "sent" || j.Acknowledgement == nil || j.Acknowledgement.Reason != "Dose unclear, please phone" || j.Acknowledgement.From != pharmacyAddr {
		t.Errorf("outbox list --json: %+v", j)
	}
	if r := clinic.cli(t, "outbox", "list"); !strings.Contains(r.stdout, "rejected: Dose unclear, please phone") {
		t.Errorf("outbox list does not show the rejection")
	}
	if r := clinic.cli(t, "outbox", "show", job[:8]); !strings.Contains(r.stdout, "Reason:       Dose unclear, please phone") || !strings.Contains(r.stdout, "Acknowledged: rejected by "+pharmacyAddr) {
		t.Errorf("outbox show does not show the rejection")
	}
	if n := strings.Count(clinic.auditLog(t), `"kind":"ack.received"`); n != 3 {
		t.Errorf("%d ack.received in the clinic's audit log, want 3 (received, accepted, rejected)", n)
	}
	if n := strings.Count(pharmacy.auditLog(t), `"kind":"ack.sent"`); n != 3 {
		t.Errorf("%d ack.sent in the pharmacy's audit log, want 3", n)
	}

	// No acknowledgement for a message that is not verified (signed by an
	// unknown key) or that cannot be decrypted (encrypted to another key).
	before, _ := pob.List()
	unknown := &send.Message{From: mail.Address{Address: malloryAddr}, To: []mail.Address{{Address: pharmacyAddr}},
		Subject: "Prescription (TEST ONLY)", Documents: []send.Document{{Path: samples[0]}}, MessageID: "unknown-signer@ack.test", Date: time.Now()}
	inject(t, srv, malloryAddr, pharmacyAddr, composed(t, unknown, send.Protection{Signer: mallory, Encrypt: true, Recipients: []*pgp.PublicKey{pharmacy.public(t)}}))
	undecryptable := &send.Message{From: mail.Address{Address: clinicAddr}, To: []mail.Address{{Address: pharmacyAddr}},
		Subject: "Prescription (TEST ONLY)", Documents: []send.Document{{Path: samples[0]}}, MessageID: "not-for-you@ack.test", Date: time.Now()}
	inject(t, srv, clinicAddr, pharmacyAddr, composed(t, undecryptable, send.Protection{Signer: clinic.secret(t), Encrypt: true, Recipients: []*pgp.PublicKey{mallory.Public()}}))
	waitMessages(t, srv, pharmacyAddr, 3)
	res = pharmacy.fetch(t)
	if len(res.New) != 2 || len(res.Acknowledgements) != 0 {
		t.Fatalf("unverified messages: %+v, acknowledgements %v", res.New, res.Acknowledgements)
	}
	for _, it := range res.New {
		if it.Verdict == receive.Verified {
			t.Errorf("%s is verified", it.MessageID)
		}
		if err := pharmacy.d.Acknowledge(ctx, it.ID, ack.Accepted, ""); !errors.Is(err, desk.ErrAckNotVerified) {
			t.Errorf("accepting %s (%s): %v", it.MessageID, it.Verdict, err)
		}
	}
	if after, _ := pob.List(); len(after) != len(before) {
		t.Errorf("the outbox grew from %d to %d jobs", len(before), len(after))
	}
}

// composed is m composed and protected with p.
func composed(t *testing.T, m *send.Message, p send.Protection) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := send.ComposeProtected(&b, m, p); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// forgeAck is a well-formed rejection of rec in the name of from, signed
// with key (not from's) and encrypted to the clinic.
func forgeAck(t *testing.T, key *pgp.Key, from, to string, clinicKey *pgp.PublicKey, rec *outbox.Record) []byte {
	t.Helper()
	var docs []manifest.Document
	for _, d := range rec.Documents {
		docs = append(docs, manifest.Document{Name: d.Name, ContentType: d.ContentType, Size: d.Size, SHA256: d.SHA256})
	}
	rc := &ack.Receipt{OriginalMessageID: rec.MessageID, Kind: ack.Rejected, Reason: "forged", Verdict: "verified",
		Documents: docs, FinalRecipient: from, Time: time.Now()}
	m := &send.Message{From: mail.Address{Address: from}, To: []mail.Address{{Address: to}}, Subject: ack.Subject(ack.Rejected),
		MessageID: "forged-ack@ack.test", Date: time.Now(), NoAcknowledgement: true}
	var b bytes.Buffer
	p := send.Protection{Signer: key, Encrypt: true, Recipients: []*pgp.PublicKey{clinicKey}}
	if err := send.ComposeProtectedEntity(&b, m, p, func(w io.Writer) error { return ack.Write(w, rc) }); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
