package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/securesend/securesend/assets"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send/outbox"
)

// DeskOptions are the front end's parts of a configuration over a desk
// session: what the system offers, which the desk does not know.
type DeskOptions struct {
	// OpenFile is Config.OpenFile.
	OpenFile func(path string) error
	// OpenBrowser is AccountsConfig.OpenBrowser.
	OpenBrowser func(url string) error
}

// OpenDesk opens the desktop app's session of d (desk.Desk.OpenSession
// with sopts; the demo's samples are assets.WriteSamples unless sopts
// says otherwise) and returns the app's configuration over it. Every
// function of the configuration is the session's (sending through its
// Outbox, fetching, verifying and opening through desk.Setup), and its
// Reload is the session's Setup as it is then; the Settings tab manages
// the home's keys and accounts through d (desk.KeyManager,
// desk.AccountManager). Close the session when the app ends.
func OpenDesk(ctx context.Context, d *desk.Desk, sopts desk.SessionOptions, opts DeskOptions) (Config, *desk.Session, error) {
	b := &deskBinding{opts: opts, boxes: map[*desk.Outbox]*OutboxConfig{}}
	sopts.Notify = b.notify
	if sopts.Samples == nil {
		sopts.Samples = assets.WriteSamples
	}
	s, err := d.OpenSession(ctx, sopts)
	if err != nil {
		return Config{}, nil, err
	}
	b.s, b.temp = s, sopts.Temp.Path()
	cfg, err := b.config()
	if err != nil {
		s.Close()
		return Config{}, nil, err
	}
	cfg.Reload = b.config
	if km, err := d.ManageKeys(); err == nil {
		cfg.Keys = &KeysConfig{Store: km, Correspondents: b.correspondentKeys}
		if cfg.Demo {
			cfg.Keys.Note = "These are your real keys, kept after the demo ends (the demo's own keys are made for this session)."
		}
	}
	cfg.Accounts = &AccountsConfig{Store: d.ManageAccounts(), OpenBrowser: opts.OpenBrowser, Use: s.Use}
	if pol, _, err := d.Policy(profile.UserSettings{}); err == nil {
		cfg.Accounts.Templates = pol.Templates()
	}
	if !cfg.Demo {
		// The demo's accounts and keys live in memory: a watch over them
		// would not outlive the window, so demo mode does not offer one.
		cfg.Watch = d.Watch
	}
	return cfg, s, nil
}

// deskBinding makes Configs from a desk session, one OutboxConfig per
// desk Outbox (so that a reload to the same outbox keeps it).
type deskBinding struct {
	s    *desk.Session
	opts DeskOptions
	temp string

	mu    sync.Mutex
	boxes map[*desk.Outbox]*OutboxConfig
	// setup is the Setup the last configuration was made from.
	setup *desk.Setup
}

// correspondentKeys is KeysConfig.Correspondents: the key store of the
// Setup in use, whose correspondents the To field offers.
func (b *deskBinding) correspondentKeys() (KeyStore, error) {
	b.mu.Lock()
	st := b.setup
	b.mu.Unlock()
	if st == nil {
		return nil, errors.New("no account or demo is in use yet")
	}
	km, err := st.ManageKeys()
	if err != nil {
		return nil, err
	}
	return km, nil
}

// outbox is the OutboxConfig of o.
func (b *deskBinding) outbox(o *desk.Outbox) *OutboxConfig {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.boxes[o]
	if !ok {
		c = &OutboxConfig{Box: o, Events: &OutboxEvents{}}
		b.boxes[o] = c
	}
	return c
}

// notify is desk.SessionOptions.Notify: a change of a job goes to the
// Sent tab following that outbox.
func (b *deskBinding) notify(o *desk.Outbox, r outbox.Record) { b.outbox(o).Events.Notify(r) }

// config is the configuration for the session's Setup as it is now.
func (b *deskBinding) config() (Config, error) {
	st, err := b.s.Setup()
	if err != nil {
		return Config{}, err
	}
	b.mu.Lock()
	b.setup = st
	b.mu.Unlock()
	a := st.Account
	cfg := Config{
		Home:       b.s.Desk().Home(),
		TempDir:    b.temp,
		Demo:       st.Demo,
		From:       st.From,
		OwnKey:     st.OwnKey,
		InboxOwner: st.InboxOwner,
		Outbox:     b.outbox(st.Outbox),
		Verify:     st.Verify,
		Document:   st.Document,
		OpenFile:   b.opts.OpenFile,
		Samples:    st.Samples,
	}
	if ob := st.Outbox; ob != nil {
		// The policy the outbox sends under, asked per recipient; one
		// that cannot be read counts as requiring encryption (the gate
		// then refuses to send anyway).
		cfg.EncryptionRequired = func(addr string) bool {
			req, err := ob.EncryptionRequired(addr)
			return err != nil || req
		}
	}
	if d := st.Acknowledger(); d != nil {
		cfg.Acknowledge = d
	}
	for _, r := range st.Recipients {
		cfg.Recipients = append(cfg.Recipients, Recipient{Name: r.Name, Address: r.Address, KeyState: r.KeyState})
	}
	if st.CanFetch() {
		cfg.Fetch = func(ctx context.Context) ([]Received, error) {
			all, err := st.Fetch(ctx)
			if err != nil {
				return nil, err
			}
			return receivedItems(all), nil
		}
		cfg.Failures = st.Failures
	}
	if st.Demo {
		fixed := "Fixed in demo mode"
		cfg.InboxOwner += " (the demo pharmacy)"
		cfg.Protection = "Signed with your key and encrypted to the pharmacy's pinned key (OpenPGP, PGP/MIME); the subject is inside the encryption"
		cfg.Settings = []Setting{
			{Name: "Mail server (sending)", Value: a.SMTP.Address + " — implicit TLS, sign-in required, REQUIRETLS", Locked: true, LockNote: fixed},
			{Name: "Mail server (inbox)", Value: a.IMAP.Address + " — IMAP over TLS", Locked: true, LockNote: fixed},
			{Name: "Encryption", Value: "Always: sign and encrypt every message", Locked: true, LockNote: fixed},
			{Name: "Your key", Value: st.OwnKeyNote + " (made for this session; the pharmacy's key is pinned)"},
		}
		return cfg, nil
	}
	cfg.Account = a.Name
	cfg.Settings = []Setting{
		{Name: "Account", Value: a.Name},
		{Name: "Mail server (sending)", Value: fmt.Sprintf("%s (%s)", a.SMTP.Address, a.SMTP.Security)},
		{Name: "Mail server (inbox)", Value: fmt.Sprintf("%s (%s)", a.IMAP.Address, a.IMAP.Security)},
		{Name: "REQUIRETLS required", Value: fmt.Sprint(a.RequireTLS)},
		{Name: "Your key", Value: st.OwnKeyNote},
	}
	return cfg, nil
}

// receivedItems are the inbox's items as the Inbox tab lists them, with
// a warning on each that repeats an earlier one.
func receivedItems(all []desk.Received) []Received {
	out := make([]Received, 0, len(all))
	for _, r := range all {
		dup := ""
		if note := desk.DuplicateNote(r.Item); note != "" {
			dup = "This message or one of its documents arrived before (" + strings.TrimPrefix(note, "DUPLICATE of ") + " in the inbox)."
		}
		out = append(out, Received{Key: r.Item.ID, Received: r.Item.Received, Report: r.Report, Source: "mailbox", Duplicate: dup,
			Superseded: r.Item.Superseded, Supersedes: r.Item.Supersedes})
	}
	return out
}
