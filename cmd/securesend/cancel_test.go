package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send/outbox"
)

// cancelSetup is a clinic and a pharmacy with their own keys pinned at
// each other, the clinic's account "clinic" on a real in-process SMTP
// server and the pharmacy's account "pharmacy" on a real in-process IMAP
// server (STARTTLS, one private CA).
type cancelSetup struct {
	clinic, pharmacy *user
	smtp             *accounttest.SMTPServer
	imap             *accounttest.IMAPServer
	delivered        int // messages of smtp already put into imap
}

func newCancelSetup(t *testing.T) *cancelSetup {
	t.Helper()
	requireKeychain(t)
	const smtpPW, imapPW = "smtp-pass-for-cancel", "imap-pass-for-cancel"
	pki := accounttest.NewPKI(t)
	s := &cancelSetup{
		clinic: newUser(t, "clinic"), pharmacy: newUser(t, "pharmacy"),
		smtp: accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic@example.org", Password: smtpPW}, accounttest.Options{StartTLS: true}),
		imap: accounttest.StartIMAP(t, pki, accounttest.Credentials{User: "pharmacy@example.org", Password: imapPW}, accounttest.Options{StartTLS: true}),
	}
	keyPair(t, s.clinic, s.pharmacy)
	s.clinic.must(t, 0, smtpPW+"\n", "account", "add", "--name", "clinic", "--email", "clinic@example.org",
		"--smtp", s.smtp.Addr, "--smtp-security", "starttls", "--ca-file", pki.CAFile, "--auth", "password", "--password-stdin")
	s.pharmacy.must(t, 0, imapPW+"\n", "account", "add", "--name", "pharmacy", "--email", "pharmacy@example.org",
		"--smtp", "127.0.0.1:1", "--imap", s.imap.Addr, "--imap-security", "starttls", "--ca-file", pki.CAFile, "--password-stdin")
	return s
}

// send sends a prescription (a PDF with content) from the clinic through
// its account and returns the Message-ID the outbox recorded.
func (s *cancelSetup) send(t *testing.T, content string, args ...string) string {
	t.Helper()
	doc := filepath.Join(t.TempDir(), "rx.pdf")
	if err := os.WriteFile(doc, []byte("%PDF-1.7\n"+content+"\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := len(s.clinic.outboxJobs(t))
	s.clinic.must(t, 0, "", append(append([]string{"send", "--account", "clinic", "--to", "pharmacy@example.org",
		"--subject", "Prescription " + content, "--doc-type", "prescription"}, args...), doc)...)
	recs := s.clinic.outboxJobs(t)
	if len(recs) != before+1 {
		t.Fatalf("outbox has %d jobs after a send, want %d", len(recs), before+1)
	}
	return recs[len(recs)-1].MessageID
}

// sent is what the SMTP server took that the pharmacy has not got yet.
func (s *cancelSetup) sent() [][]byte {
	return s.smtp.Messages()[s.delivered:]
}

// deliver puts raw into the pharmacy's IMAP inbox, in the order given.
func (s *cancelSetup) deliver(t *testing.T, raws ...[]byte) {
	t.Helper()
	for _, raw := range raws {
		s.imap.Deliver(t, raw)
	}
}

// items is the pharmacy's 'inbox list --json', by Message-ID.
func (s *cancelSetup) items(t *testing.T) map[string]receive.Item {
	t.Helper()
	out := s.pharmacy.must(t, 0, "", "inbox", "list", "--json")
	var l struct {
		Items []receive.Item `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("inbox list --json: %v\n%s", err, out)
	}
	by := map[string]receive.Item{}
	for _, it := range l.Items {
		if prev, dup := by[it.MessageID]; dup && prev.Verdict == receive.Verified {
			continue // keep the Verified one; copies are looked up by ID
		}
		by[it.MessageID] = it
	}
	return by
}

// TestCancelRefusalsCLI: 'securesend cancel' without a Message-ID, for a
// Message-ID this outbox never sent, without a reason (or a blank one),
// and for a message still queued, each exits 1 with a clear error naming
// what to do, and neither queues nor sends anything.
func TestCancelRefusalsCLI(t *testing.T) {
	s := newCancelSetup(t)
	sentID := s.send(t, "rx 10mg")
	s.clinic.must(t, 0, "", "send", "--queue-only", "--account", "clinic", "--to", "pharmacy@example.org", "--subject", "queued", writeDoc(t))
	recs := s.clinic.outboxJobs(t)
	queued := recs[len(recs)-1]
	if queued.State != outbox.Queued {
		t.Fatalf("the queue-only job is %s", queued.State)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no Message-ID", []string{"--reason", "wrong dose"}, []string{"give the Message-ID of one message you sent"}},
		{"unknown Message-ID", []string{"nosuch@example.org", "--reason", "wrong dose"}, []string{"nosuch@example.org", "no message with this Message-ID was sent from this outbox"}},
		{"Message-ID after the flags", []string{"--reason", "wrong dose", "nosuch@example.org"}, []string{"nosuch@example.org", "no message with this Message-ID was sent from this outbox"}},
		{"no reason", []string{sentID}, []string{"give the reason for the cancellation"}},
		{"blank reason", []string{sentID, "--reason", " \t "}, []string{"give the reason for the cancellation"}},
		{"not sent yet", []string{queued.MessageID, "--reason", "wrong dose"}, []string{"has not been sent", "securesend outbox cancel " + queued.ID[:8]}},
		{"two Message-IDs", []string{sentID, "other@example.org", "--reason", "wrong dose"}, []string{"give the Message-ID of one message"}},
	}
	mails := len(s.smtp.Messages())
	for _, tt := range tests {
		code, out, errOut := s.clinic.run(t, "", append([]string{"cancel"}, tt.args...)...)
		if code != 1 || out != "" {
			t.Errorf("%s: exit %d, stdout %q, want 1 and nothing", tt.name, code, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: error lacks %q:\n%s", tt.name, w, errOut)
			}
		}
	}
	if n := len(s.smtp.Messages()); n != mails {
		t.Errorf("refused cancellations reached the server: %d messages, want %d", n, mails)
	}
	if n := len(s.clinic.outboxJobs(t)); n != len(recs) {
		t.Errorf("refused cancellations were queued: %d jobs, want %d", n, len(recs))
	}
}

// TestCancelAndReplaceCLI is the whole loop through the CLI: the clinic
// sends two prescriptions, cancels the first ('securesend cancel') and
// replaces the second ('send --replaces'); the pharmacy fetches the
// cancellation before its original and the replacement after its own.
// 'inbox list --json' has superseded on both originals and supersedes
// (applied) on the new messages, 'inbox show' prints the CANCELLED and
// REPLACED lines, and 'inbox open' of a superseded document refuses
// without --yes-superseded when standard input is not a terminal (and
// writes nothing), while the replacement opens as usual.
func TestCancelAndReplaceCLI(t *testing.T) {
	s := newCancelSetup(t)
	rx1 := s.send(t, "rx 10mg")
	rx2 := s.send(t, "rx 20mg")

	out := s.clinic.must(t, 0, "", "cancel", "<"+rx1+">", "--reason", "wrong dose: phone me")
	if !strings.Contains(out, "Cancellation of "+rx1+" sent as ") {
		t.Errorf("cancel:\n%s", out)
	}
	repl := s.send(t, "rx 5mg", "--replaces", rx2, "--note", "dose corrected")
	msgs := s.sent()
	if len(msgs) != 4 {
		t.Fatalf("server got %d messages, want 4", len(msgs))
	}
	recs := s.clinic.outboxJobs(t)
	cancelID := recs[2].MessageID
	for i, r := range recs {
		if r.State != outbox.Sent {
			t.Errorf("job %d (%s) is %s", i, r.MessageID, r.State)
		}
	}
	if recs[2].Subject != "CANCELLED: Prescription rx 10mg" || len(recs[2].Documents) != 0 {
		t.Errorf("cancellation job: subject %q, %d documents", recs[2].Subject, len(recs[2].Documents))
	}
	// the cancellation first, then the originals, then the replacement
	s.deliver(t, msgs[2], msgs[0], msgs[1], msgs[3])
	s.delivered = len(s.smtp.Messages())
	s.pharmacy.must(t, 0, "", "inbox", "fetch")

	items := s.items(t)
	o1, o2, c, r := items[rx1], items[rx2], items[cancelID], items[repl]
	for _, it := range []receive.Item{o1, o2, c, r} {
		if it.ID == "" || it.Verdict != receive.Verified {
			t.Fatalf("items %+v: want all four Verified", items)
		}
	}
	if s := o1.Superseded; s == nil || s.Kind != manifest.Cancel || s.ByMessageID != cancelID || s.ByID != c.ID || s.Reason != "wrong dose: phone me" || s.CopyOf != "" {
		t.Errorf("cancelled original: superseded %+v", s)
	}
	if s := o2.Superseded; s == nil || s.Kind != manifest.Replace || s.ByMessageID != repl || s.ByID != r.ID || s.Reason != "dose corrected" {
		t.Errorf("replaced original: superseded %+v", s)
	}
	// the replacement's signed manifest names the original (and its documents)
	if cl := r.Supersedes; cl == nil || cl.Kind != manifest.Replace || cl.MessageID != rx2 || strings.Join(cl.Applied, ",") != o2.ID {
		t.Errorf("replacement: supersedes %+v, want replace of %s applied to #%s", r.Supersedes, rx2, o2.ID)
	}
	if cl := c.Supersedes; cl == nil || cl.Kind != manifest.Cancel || cl.MessageID != rx1 || strings.Join(cl.Applied, ",") != o1.ID {
		t.Errorf("cancellation: supersedes %+v, want cancel of %s applied to #%s", c.Supersedes, rx1, o1.ID)
	}
	if r.Superseded != nil || c.Superseded != nil || len(r.Duplicates) != 0 {
		t.Errorf("new messages: replacement %+v %+v, cancellation %+v", r.Superseded, r.Duplicates, c.Superseded)
	}

	list := s.pharmacy.must(t, 0, "", "inbox", "list")
	for _, w := range []string{"CANCELLED by the sender", "REPLACED by #" + r.ID} {
		if !strings.Contains(list, w) {
			t.Errorf("inbox list lacks %q:\n%s", w, list)
		}
	}
	for _, tt := range []struct{ id, want string }{
		{o1.ID, "CANCELLED by the sender at "},
		{o1.ID, ": wrong dose: phone me. Do not dispense or act on it."},
		{o2.ID, fmt.Sprintf("with message #%s (%s): dose corrected. Use the new one, not this one.", r.ID, repl)},
		{c.ID, fmt.Sprintf("This is a cancellation of message %s (item #%s), now marked as cancelled.", rx1, o1.ID)},
		{r.ID, fmt.Sprintf("This is a replacement of message %s (item #%s), now marked as replaced.", rx2, o2.ID)},
	} {
		if out := s.pharmacy.must(t, 0, "", "inbox", "show", tt.id); !strings.Contains(out, tt.want) {
			t.Errorf("inbox show %s lacks %q:\n%s", tt.id, tt.want, out)
		}
	}
	if out := s.pharmacy.must(t, 0, "", "inbox", "show", r.ID); strings.Contains(out, "REPLACED by") || strings.Contains(out, "CANCELLED by") {
		t.Errorf("the replacement is shown as superseded:\n%s", out)
	}

	for _, id := range []string{o1.ID, o2.ID} {
		dir := t.TempDir()
		code, out, errOut := s.pharmacy.run(t, "", "inbox", "open", id, "--out", dir)
		if code != 1 || !strings.Contains(errOut, "no longer current") || !strings.Contains(errOut, "--yes-superseded") {
			t.Errorf("inbox open %s without --yes-superseded: exit %d\nstdout: %s\nstderr: %s", id, code, out, errOut)
		}
		if got := listDir(t, dir); len(got) != 0 {
			t.Errorf("inbox open %s without --yes-superseded wrote %v", id, got)
		}
		// --yes-unverified answers only for a message that is not
		// verified; this one is verified but no longer current.
		code, out, errOut = s.pharmacy.run(t, "", "inbox", "open", id, "--out", dir, "--yes-unverified")
		if code != 1 || !strings.Contains(errOut, "--yes-superseded") || len(listDir(t, dir)) != 0 {
			t.Errorf("inbox open %s --yes-unverified of a cancelled or replaced message: exit %d, wrote %v\nstdout: %s\nstderr: %s", id, code, listDir(t, dir), out, errOut)
		}
		s.pharmacy.must(t, 0, "", "inbox", "open", id, "--out", dir, "--yes-superseded")
		if got := listDir(t, dir); len(got) != 1 {
			t.Errorf("inbox open %s --yes-superseded wrote %v", id, got)
		}
	}
	dir := t.TempDir()
	s.pharmacy.must(t, 0, "", "inbox", "open", r.ID, "--out", dir)
	if got := listDir(t, dir); len(got) != 1 {
		t.Errorf("the replacement: wrote %v", got)
	}
}

// TestCancelStrippedCopyCLI: a hostile server strips the signature from
// a cancelled, signed-only original and delivers it again. The pharmacy
// sees the copy as not verified and, from the verified cancellation, as
// a copy of a cancelled message: 'inbox list --json' (superseded.copy_of),
// 'inbox show' and a refused 'inbox open'.
func TestCancelStrippedCopyCLI(t *testing.T) {
	s := newCancelSetup(t)
	rx := s.send(t, "rx 10mg", "--encrypt", "never")
	s.clinic.must(t, 0, "", "cancel", rx, "--reason", "wrong patient")
	msgs := s.sent()
	if len(msgs) != 2 {
		t.Fatalf("server got %d messages, want 2", len(msgs))
	}
	stripped := pgptest.StripSignature(t, msgs[0])
	s.deliver(t, msgs[0], msgs[1], stripped)
	s.delivered = len(s.smtp.Messages())
	s.pharmacy.must(t, 0, "", "inbox", "fetch")

	out := s.pharmacy.must(t, 0, "", "inbox", "list", "--json")
	var l struct {
		Items []receive.Item `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil || len(l.Items) != 3 {
		t.Fatalf("inbox list --json: %v\n%s", err, out)
	}
	orig, cp := l.Items[0], l.Items[2]
	if orig.MessageID != rx || cp.MessageID != rx || orig.Verdict != receive.Verified || cp.Verdict == receive.Verified {
		t.Fatalf("items: original %s %s, copy %s %s", orig.MessageID, orig.Verdict, cp.MessageID, cp.Verdict)
	}
	if s := cp.Superseded; s == nil || s.Kind != manifest.Cancel || s.CopyOf != orig.ID || s.Reason != "wrong patient" {
		t.Errorf("stripped copy (%s): superseded %+v, want a cancelled copy of #%s", cp.Verdict, s, orig.ID)
	}
	t.Logf("stripped copy: verdict %s, duplicates %+v", cp.Verdict, cp.Duplicates)
	if len(cp.Duplicates) == 0 {
		t.Error("the stripped copy is not flagged as a duplicate")
	}
	show := s.pharmacy.must(t, 0, "", "inbox", "show", cp.ID)
	if want := fmt.Sprintf("A message with this Message-ID (item #%s) was CANCELLED by its verified sender at ", orig.ID); !strings.Contains(show, want) || !strings.Contains(show, ": wrong patient. This copy is not verified") {
		t.Errorf("inbox show %s lacks %q:\n%s", cp.ID, want, show)
	}
	dir := t.TempDir()
	for _, flags := range [][]string{nil, {"--yes-unverified"}, {"--yes-superseded"}} {
		code, _, errOut := s.pharmacy.run(t, "", append([]string{"inbox", "open", cp.ID, "--out", dir}, flags...)...)
		if code != 1 || len(listDir(t, dir)) != 0 || !strings.Contains(errOut, "--yes-") {
			t.Errorf("inbox open of the stripped copy %v: exit %d, wrote %v\n%s", flags, code, listDir(t, dir), errOut)
		}
	}
	s.pharmacy.must(t, 0, "", "inbox", "open", cp.ID, "--out", dir, "--yes-unverified", "--yes-superseded")
	if got := listDir(t, dir); len(got) != 1 {
		t.Errorf("inbox open of the stripped copy with both confirmations wrote %v", got)
	}
}
