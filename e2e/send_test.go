package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/securesend/securesend/internal/mailserver"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/send"
)

var samples = []string{
	"../assets/samples/sample-prescription.pdf",
	"../assets/samples/sample-referral.tif",
}

// attachment is one document as found in a delivered message.
type attachment struct {
	name        string
	contentType string
	data        []byte
}

// attachments parses a delivered message with go-message and returns its
// attachments (the documents) in order. The message's manifest part, which
// every message securesend sends carries, is not one of them: it must be
// there, and list exactly the documents' SHA-256 hashes in order.
func attachments(t *testing.T, raw []byte) (*mail.Header, []attachment) {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse delivered message: %v", err)
	}
	var out []attachment
	var man *manifest.Manifest
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("parse delivered message: %v", err)
		}
		h, ok := p.Header.(*mail.AttachmentHeader)
		if !ok {
			continue
		}
		name, err := h.Filename()
		if err != nil {
			t.Fatalf("attachment file name: %v", err)
		}
		ct, _, _ := h.ContentType()
		if ct == manifest.MediaType {
			if man, err = manifest.Parse(p.Body); err != nil {
				t.Fatalf("the message's manifest: %v", err)
			}
			continue
		}
		data, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatalf("attachment %s: %v", name, err)
		}
		out = append(out, attachment{name: name, contentType: ct, data: data})
	}
	if man == nil {
		t.Fatal("the delivered message carries no manifest")
	}
	var sums []string
	for _, a := range out {
		sum := sha256.Sum256(a.data)
		sums = append(sums, hex.EncodeToString(sum[:]))
	}
	if got := man.SHA256s(); !slices.Equal(got, sums) {
		t.Errorf("manifest lists %v, the documents are %v", got, sums)
	}
	return &r.Header, out
}

// TestSendSamplesThroughPostfix sends the sample PDF and multi-page TIFF with
// the CLI over STARTTLS and over implicit TLS, with SASL authentication, and
// checks that Dovecot holds byte-identical attachments and that the receipt
// matches what Postfix logged.
func TestSendSamplesThroughPostfix(t *testing.T) {
	srv := mailserver.StartT(t, mailserver.Options{Users: []string{"doctor", "pharmacy", "lab", "clinic"}})
	doctor := srv.Users[0]
	cases := []struct {
		name     string
		security string
		port     int
		to       []string
	}{
		{"starttls-submission", "starttls", srv.Submission, []string{srv.Users[1], srv.Users[2]}},
		{"implicit-tls", "tls", srv.SMTPS, []string{srv.Users[3]}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			receipt := filepath.Join(t.TempDir(), "receipt.json")
			args := []string{"send",
				"--server", mailserver.Addr(tc.port), "--security", tc.security,
				"--ca-file", srv.CAFile, "--user", doctor, "--password-stdin",
				"--from", "Dr A. Sample <" + doctor + ">",
				"--subject", "Sample prescription (" + tc.name + ")",
				"--note", "Test note: SAMPLE, not a real prescription.",
				"--receipt", receipt, "--timeout", "1m"}
			for _, to := range tc.to {
				args = append(args, "--to", to)
			}
			args = append(args, samples...)
			r := securesend(t, srv.Password+"\n", args...)
			if r.code != 0 {
				t.Fatalf("securesend send exited %d", r.code)
			}
			if strings.Contains(r.stdout+r.stderr, srv.Password) {
				t.Error("the password appears in the output")
			}

			res := readReceipt(t, receipt)
			checkReceipt(t, srv, res, tc.security, tc.to)

			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			for _, to := range tc.to {
				msgs, err := srv.WaitForMessages(ctx, to, 1)
				if err != nil {
					t.Fatal(err)
				}
				if len(msgs) != 1 {
					t.Fatalf("%s has %d messages, want 1", to, len(msgs))
				}
				checkDelivered(t, msgs[0], res)
			}
		})
	}
}

func readReceipt(t *testing.T, path string) *send.Result {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("receipt: %v", err)
	}
	var res send.Result
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatalf("receipt is not valid JSON: %v\n%s", err, data)
	}
	return &res
}

// checkReceipt compares the --receipt JSON with the Postfix log and the
// sample files.
func checkReceipt(t *testing.T, srv *mailserver.Server, res *send.Result, security string, to []string) {
	t.Helper()
	if res.Security != security {
		t.Errorf("receipt security = %q, want %q", res.Security, security)
	}
	if res.TLS.Version != "TLS 1.2" && res.TLS.Version != "TLS 1.3" {
		t.Errorf("receipt TLS version = %q, want TLS 1.2 or TLS 1.3", res.TLS.Version)
	}
	if res.Reply.Code != 250 {
		t.Errorf("final reply = %+v, want 250", res.Reply)
	}
	if res.QueueID == "" {
		t.Error("receipt has no queue id")
	} else if ids := srv.QueueIDs(res.MessageID); !slices.Contains(ids, res.QueueID) {
		t.Errorf("receipt queue id %q; Postfix logged message-id <%s> under %v", res.QueueID, res.MessageID, ids)
	}
	var accepted []string
	for _, a := range res.Accepted {
		accepted = append(accepted, a.Address)
		if a.Reply.Code != 250 {
			t.Errorf("recipient %s reply %+v, want 250", a.Address, a.Reply)
		}
	}
	slices.Sort(accepted)
	want := slices.Clone(to)
	slices.Sort(want)
	if !slices.Equal(accepted, want) {
		t.Errorf("accepted recipients %v, want %v", accepted, want)
	}
	if len(res.Rejected) != 0 {
		t.Errorf("rejected recipients: %+v", res.Rejected)
	}
	if len(res.Documents) != len(samples) {
		t.Fatalf("receipt lists %d documents, want %d", len(res.Documents), len(samples))
	}
	for i, path := range samples {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		d := res.Documents[i]
		if d.Name != filepath.Base(path) || d.SHA256 != hex.EncodeToString(sum[:]) || d.Size != int64(len(data)) {
			t.Errorf("receipt document %d = %+v, want %s, %d bytes, sha256 %x", i, d, filepath.Base(path), len(data), sum)
		}
	}
}

// checkDelivered compares a delivered message with the samples.
func checkDelivered(t *testing.T, raw []byte, res *send.Result) {
	t.Helper()
	h, atts := attachments(t, raw)
	if id, _ := h.MessageID(); id != strings.Trim(res.MessageID, "<>") {
		t.Errorf("delivered Message-ID %q, receipt says %q", id, res.MessageID)
	}
	// Postfix records the TLS session of the submission in Received.
	if !bytes.Contains(raw, []byte("using TLSv1.")) {
		t.Error("delivered message has no Received header showing a TLS submission")
	}
	if len(atts) != len(samples) {
		t.Fatalf("delivered message has %d attachments, want %d", len(atts), len(samples))
	}
	wantTypes := []string{"application/pdf", "image/tiff"}
	for i, path := range samples {
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		a := atts[i]
		if a.name != filepath.Base(path) {
			t.Errorf("attachment %d is named %q, want %q", i, a.name, filepath.Base(path))
		}
		if a.contentType != wantTypes[i] {
			t.Errorf("attachment %s has type %q, want %q", a.name, a.contentType, wantTypes[i])
		}
		if !bytes.Equal(a.data, want) {
			t.Errorf("attachment %s differs from the file sent (%d bytes delivered, %d sent)", a.name, len(a.data), len(want))
		}
	}
}

// TestRefusals checks that securesend sends nothing when it cannot send
// securely or cannot sign in: the plaintext-only port (no STARTTLS), implicit
// TLS against a plaintext server, a wrong password, and --require-tls with a
// server that does not offer REQUIRETLS.
func TestRefusals(t *testing.T) {
	srv := mailserver.StartT(t, mailserver.Options{})
	doctor, pharmacy := srv.Users[0], srv.Users[1]
	cases := []struct {
		name, security, password, wantErr string
		port                              int
		wantKind                          string
	}{
		{"no-starttls-offered", "starttls", srv.Password, "did not offer encryption", srv.Plain, "no_tls"},
		{"implicit-tls-to-plain-port", "tls", srv.Password, "nothing was sent", srv.Plain, ""},
		{"wrong-password", "starttls", "not-the-password", "rejected the sign-in", srv.Submission, "auth"},
		// Postfix 3.7 does not offer REQUIRETLS (RFC 8689).
		{"requiretls-required", "tls", srv.Password, "REQUIRETLS", srv.SMTPS, "requiretls"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			receipt := filepath.Join(t.TempDir(), "receipt.json")
			args := []string{"send",
				"--server", mailserver.Addr(tc.port), "--security", tc.security,
				"--ca-file", srv.CAFile, "--user", doctor, "--password-stdin",
				"--from", doctor, "--to", pharmacy, "--subject", "must not arrive",
				"--receipt", receipt, "--timeout", "30s", "--json"}
			if tc.wantKind == "requiretls" {
				args = append(args, "--require-tls")
			}
			r := securesend(t, tc.password+"\n", append(args, samples[0])...)
			if r.code == 0 {
				t.Fatal("securesend send exited 0; want a failure")
			}
			if !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("stderr lacks %q", tc.wantErr)
			}
			for _, pw := range []string{srv.Password, "not-the-password"} {
				if strings.Contains(r.stdout+r.stderr, pw) {
					t.Error("a password appears in the output")
				}
			}
			if tc.wantKind != "" {
				var out struct {
					Error *struct{ Kind string } `json:"error"`
				}
				if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Error == nil || out.Error.Kind != tc.wantKind {
					t.Errorf("--json error kind: got %+v (%v), want %q", out.Error, err, tc.wantKind)
				}
			}
			if _, err := os.Stat(receipt); err == nil {
				t.Error("a receipt was written for a message that was not sent")
			}
		})
	}

	// Nothing may have been queued or delivered.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.WaitQueueEmpty(ctx); err != nil {
		t.Fatal(err)
	}
	for _, u := range srv.Users {
		msgs, err := srv.FetchAll(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 0 {
			t.Errorf("%s received %d messages; want none", u, len(msgs))
		}
	}
	log := srv.PostfixLog()
	if strings.Contains(log, "message-id=") {
		t.Error("Postfix accepted a message (message-id logged)")
	}
	// On the plaintext port the client must not even have tried AUTH or MAIL.
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "postfix/plain/smtpd") && strings.Contains(line, "disconnect from") {
			for _, cmd := range []string{"auth=", "mail=", "rcpt=", "data="} {
				if strings.Contains(line, cmd) {
					t.Errorf("the client sent %s on the plaintext port: %s", strings.TrimSuffix(cmd, "="), line)
				}
			}
		}
	}
}

// TestPartlyRejected sends to one real and one unknown mailbox: Postfix
// rejects the unknown one at RCPT, securesend must exit non-zero saying so,
// the receipt must list both outcomes, and the real mailbox gets the message.
func TestPartlyRejected(t *testing.T) {
	srv := mailserver.StartT(t, mailserver.Options{})
	doctor, pharmacy := srv.Users[0], srv.Users[1]
	unknown := "nobody-here@" + srv.Domain
	receipt := filepath.Join(t.TempDir(), "receipt.json")
	r := securesend(t, srv.Password+"\n", "send",
		"--server", mailserver.Addr(srv.Submission), "--security", "starttls",
		"--ca-file", srv.CAFile, "--user", doctor, "--password-stdin",
		"--from", doctor, "--to", pharmacy, "--to", unknown, "--subject", "partly rejected",
		"--receipt", receipt, samples[0])
	if r.code == 0 {
		t.Fatal("securesend send exited 0 although a recipient was rejected")
	}
	if !strings.Contains(r.stderr, "rejected") {
		t.Error("stderr does not say a recipient was rejected")
	}
	res := readReceipt(t, receipt)
	if len(res.Accepted) != 1 || res.Accepted[0].Address != pharmacy {
		t.Errorf("accepted = %+v, want only %s", res.Accepted, pharmacy)
	}
	if len(res.Rejected) != 1 || res.Rejected[0].Address != unknown || res.Rejected[0].Reply.Code != 550 {
		t.Errorf("rejected = %+v, want %s with 550", res.Rejected, unknown)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	msgs, err := srv.WaitForMessages(ctx, pharmacy, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, atts := attachments(t, msgs[0])
	want, err := os.ReadFile(samples[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 1 || !bytes.Equal(atts[0].data, want) {
		t.Error("the accepted recipient did not get the document intact")
	}
}

// TestSenderNotOwned signs in as one user and sends as another: Postfix
// refuses the sender (reject_sender_login_mismatch), securesend must fail
// with the server's reason and nothing is delivered.
func TestSenderNotOwned(t *testing.T) {
	srv := mailserver.StartT(t, mailserver.Options{})
	doctor, pharmacy := srv.Users[0], srv.Users[1]
	r := securesend(t, srv.Password+"\n", "send",
		"--server", mailserver.Addr(srv.SMTPS), "--security", "tls",
		"--ca-file", srv.CAFile, "--user", doctor, "--password-stdin",
		"--from", pharmacy, "--to", pharmacy, "--subject", "spoofed sender",
		"--json", samples[0])
	if r.code == 0 {
		t.Fatal("securesend send exited 0 for a sender the account does not own")
	}
	if !strings.Contains(r.stderr, "not owned by user") {
		t.Error("stderr lacks the server's reason (not owned by user)")
	}
	var out struct {
		Error *struct{ Kind string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Error == nil || out.Error.Kind != "permanent" {
		t.Errorf("--json error: got %+v (%v), want kind permanent", out.Error, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.WaitQueueEmpty(ctx); err != nil {
		t.Fatal(err)
	}
	if msgs, err := srv.FetchAll(ctx, pharmacy); err != nil || len(msgs) != 0 {
		t.Errorf("%s has %d messages (%v); want none", pharmacy, len(msgs), err)
	}
}
