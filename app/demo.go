package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// DemoConfig wires the app to a running demo mail system: the user sends as
// the clinician to the pharmacy, and the Inbox shows the pharmacy's
// mailbox, so a send can be seen Verified a moment later. Received
// documents are written below docDir.
func DemoConfig(sys *demomail.System, samples []string, docDir string) Config {
	clin, _ := sys.Identity(demomail.Clinician)
	var mu sync.Mutex
	seen := map[string]Received{} // verified once, by UID
	pharm, _ := sys.Identity(demomail.Pharmacy)
	return Config{
		Demo:       true,
		From:       mail.Address{Name: clin.Name, Address: clin.Address},
		OwnKey:     clin.Fingerprint.Grouped(),
		Recipients: []Recipient{{Name: pharm.Name, Address: pharm.Address, KeyState: "pinned"}},
		Send:       sys.Send,
		InboxOwner: pharm.Address + " (the demo pharmacy)",
		Fetch: func(ctx context.Context) ([]Received, error) {
			msgs, err := sys.Fetch(ctx, demomail.Pharmacy)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			defer mu.Unlock()
			var out []Received
			for _, m := range msgs {
				key := fmt.Sprintf("uid-%d", m.UID)
				if it, ok := seen[key]; ok {
					out = append(out, it)
					continue
				}
				sink := receive.DirSink(filepath.Join(docDir, key))
				if err := os.MkdirAll(filepath.Join(docDir, key), 0o700); err != nil {
					return nil, err
				}
				rep, err := sys.Verify(ctx, demomail.Pharmacy, bytes.NewReader(m.Raw), sink)
				if err != nil {
					return nil, err
				}
				it := Received{Key: key, Received: m.Received, Report: rep, Source: "mailbox"}
				seen[key] = it
				out = append(out, it)
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Received.After(out[j].Received) })
			return out, nil
		},
		Verify: func(ctx context.Context, r io.Reader) (*receive.Report, error) {
			return sys.Verify(ctx, demomail.Pharmacy, r, nil)
		},
		Samples:    samples,
		Protection: "Signed with your key and encrypted to the pharmacy's pinned key (OpenPGP, PGP/MIME); the subject is inside the encryption",
		Settings: []Setting{
			{Name: "Mail server (sending)", Value: sys.SMTPAddr + " — implicit TLS, sign-in required, REQUIRETLS", Locked: true, LockNote: "Fixed in demo mode"},
			{Name: "Mail server (inbox)", Value: sys.IMAPAddr + " — IMAP over TLS", Locked: true, LockNote: "Fixed in demo mode"},
			{Name: "Encryption", Value: "Always: sign and encrypt every message", Locked: true, LockNote: "Fixed in demo mode"},
			{Name: "Your key", Value: clin.Fingerprint.Grouped() + " (made for this session; the pharmacy's key is pinned)"},
		},
	}
}

// DemoOutbox opens an outbox in dir (below the demo's temporary home),
// encrypted with a key made for this run and kept in memory only, that
// sends as the demo identities through sys: messages are signed and
// encrypted (sys.Protect), composed into the outbox before any network
// I/O, and submitted to the demo server.
func DemoOutbox(sys *demomail.System, dir string) (*OutboxConfig, error) {
	key := make([]byte, atrest.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	ev := &OutboxEvents{}
	box, err := outbox.Open(dir, key, outbox.Options{Notify: ev.Notify})
	if err != nil {
		return nil, err
	}
	return &OutboxConfig{
		Box:    box,
		Events: ev,
		Enqueue: func(ctx context.Context, m *send.Message) (string, error) {
			prot, err := sys.Protect(m)
			if err != nil {
				return "", err
			}
			if m.MessageID == "" {
				if m.MessageID, err = send.NewMessageID(demomail.Domain); err != nil {
					return "", err
				}
			}
			if m.Date.IsZero() {
				m.Date = time.Now()
			}
			var r send.Result
			r.SetProtection(prot)
			job := outbox.Job{
				MessageID: m.MessageID,
				Envelope:  send.Envelope{From: m.From.Address},
				Encrypted: r.Encrypted, Signed: r.Signed, SignerFingerprint: r.SignerFingerprint,
			}
			for _, a := range append(append([]mail.Address(nil), m.To...), m.Cc...) {
				job.Envelope.To = append(job.Envelope.To, a.Address)
			}
			return box.Enqueue(ctx, job, func(w io.Writer) ([]send.DocumentInfo, error) {
				return send.ComposeProtected(w, m, prot)
			})
		},
		Submit: func(progress func(int64)) outbox.SubmitFunc {
			return func(ctx context.Context, env send.Envelope, body io.Reader) (*send.Result, error) {
				opts, err := sys.SendOptions(env.From)
				if err != nil {
					return nil, err
				}
				opts.Progress = progress
				return send.Submit(ctx, opts, env, body)
			}
		},
	}, nil
}
