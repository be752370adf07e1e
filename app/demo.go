package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/receive"
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

// DemoOutbox is the outbox of the demo clinician's desk (desk.OpenDemo)
// on sys, in dir: the same journey as a real account's (the policy gate,
// signing and encryption, the outbox encrypted at rest with a key kept in
// memory, delivery through the gate), with the demo's keys, account and
// server.
func DemoOutbox(sys *demomail.System, dir string) (*OutboxConfig, error) {
	return demoOutbox(sys, dir, desk.DemoOptions{})
}

func demoOutbox(sys *demomail.System, dir string, opts desk.DemoOptions) (*OutboxConfig, error) {
	d, err := desk.OpenDemo(sys, dir, opts)
	if err != nil {
		return nil, err
	}
	ev := &OutboxEvents{}
	box, err := d.Outbox(desk.OutboxOptions{Notify: ev.Notify, Via: desk.Via{Account: desk.DemoAccount}})
	if err != nil {
		return nil, err
	}
	return &OutboxConfig{Box: box, Events: ev}, nil
}
