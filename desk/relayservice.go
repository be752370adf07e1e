package desk

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/relay"
	"github.com/securesend/securesend/send/outbox"
)

// RelayConfig is how a relay service for the practice's printers is run
// (securesend relay): its flags, parsed by the front end with
// relay.ParseNetwork and relay.ParseAliases.
type RelayConfig struct {
	// Account is the stored account every relayed message is sent as
	// (required); one of the user's keys for its address signs them.
	Account string
	// Listen is the address to listen on, e.g. 127.0.0.1:2525.
	Listen string
	// Network is whom the relay lets in (relay.ParseNetwork of Listen).
	Network relay.Network
	// Aliases are short recipient names (relay.ParseAliases); each must
	// name a directory or pinned recipient.
	Aliases map[string]string
	// CertFile and KeyFile are the admin's TLS certificate chain and key
	// (PEM); both empty: one generated the first time and kept in the
	// home's relay folder.
	CertFile, KeyFile string
	// Hostname is this computer's name as devices reach it (greeting,
	// generated certificate); the system's when empty.
	Hostname string
	// DocType is the subject when a device's names no type: one of
	// DocumentTypes (relay.MatchDocType).
	DocType string
	// MaxMessageBytes, MaxConnections, MaxConnectionsPerAddress and
	// MaxPerMinute bound what devices may send (relay.Options; its
	// defaults when 0).
	MaxMessageBytes          int64
	MaxConnections           int
	MaxConnectionsPerAddress int
	MaxPerMinute             int
	// QueueOnly only queues: another process ('securesend outbox run')
	// delivers. Otherwise each job is delivered as soon as it is queued,
	// what an earlier run left queued first, and deferred jobs every Poll.
	QueueOnly bool
	// Poll is how often deferred jobs are retried (time.Minute when 0).
	Poll time.Duration
	// Started, when set, is told what the relay serves once it listens,
	// before any device can connect.
	Started func(RelayStarted)
	// Notify, when set, is told of every change of a relayed job.
	Notify func(outbox.Record)
	// Problem, when set, is told what went wrong delivering that is not
	// one job's (the outbox could not be listed).
	Problem func(error)
	// Log receives the relay's log: a line per sign-in failure, message
	// queued or refused, and per burst of connections refused
	// (relay.Options.Log). It
	// is written from many goroutines: the caller serialises it.
	Log io.Writer
}

// RelayStarted is what a relay serves, for its operator to see.
type RelayStarted struct {
	// Addr is the address it listens on.
	Addr net.Addr
	// Account is the account it sends as.
	Account account.Account
	// Devices are the names of the devices that may sign in.
	Devices []string
	// Fingerprint is the TLS certificate's SHA-256 fingerprint, to pin
	// on each device.
	Fingerprint string
	// CertificateMade is set when the certificate was generated now, and
	// kept in CertificateDir.
	CertificateMade bool
	CertificateDir  string
	// PlainFrom are the devices allowed to sign in and send without TLS.
	PlainFrom []netip.Addr
	// QueueOnly repeats RelayConfig.QueueOnly.
	QueueOnly bool
}

// ErrNoRelayDevices stops a relay that no device could sign in to.
var ErrNoRelayDevices = errors.New("relay: no devices may sign in yet: add one with 'securesend relay device add NAME --password-stdin'")

// Relay runs the relay service until ctx is done: it checks first that
// cfg.Network fits cfg.Listen (relay.CheckNetwork: an address reachable
// from the network needs allowed client networks), that it could send (the account, a key of the user's for its address that
// unlocks, the aliases, at least one device), takes the home's relay lock
// so that no second relay runs on it, loads or generates the certificate,
// listens, tells cfg.Started, and then takes the devices' scans through
// the Send journey (RelaySubmitter: the policy gate, signing and
// encryption, the outbox, the audit log) and delivers them. It returns
// nil when ctx ends it and waits for the deliveries it started.
func (d *Desk) Relay(ctx context.Context, cfg RelayConfig) error {
	// Whom it lets in must fit where it listens (relay.ParseNetwork made
	// from the flags does): never a relay on the network open to all.
	if err := relay.CheckNetwork(cfg.Listen, cfg.Network); err != nil {
		return err
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Minute
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	// The account, the profile and the keys now, so that a relay that
	// cannot send stops at once rather than at the first scan.
	acct, err := d.Accounts().Get(cfg.Account)
	if err != nil {
		return relayError(err)
	}
	if err := d.CheckRelaySigner(acct.Email); err != nil {
		return relayError(err)
	}
	resolver := &relay.DirectoryResolver{Aliases: cfg.Aliases, Current: func() (profile.Policy, *pgp.Store, error) {
		pol, _, err := d.Policy(profile.UserSettings{})
		if err != nil {
			return pol, nil, err
		}
		ks, err := d.Keys()
		return pol, ks, err
	}}
	if err := resolver.CheckAliases(); err != nil {
		return fmt.Errorf("relay: --%w", err)
	}
	dir, err := d.home.Sub("relay")
	if err != nil {
		return relayError(err)
	}
	unlock, err := relay.Lock(dir)
	if err != nil {
		return relayError(err)
	}
	defer unlock()
	devices, err := d.relayDevices()
	if err != nil {
		return err
	}
	devs, err := devices.List()
	if err != nil {
		return relayError(err)
	}
	if len(devs) == 0 {
		return ErrNoRelayDevices
	}
	resends, err := relay.OpenResends(relay.ResendPath(dir), relay.ResendOptions{})
	if err != nil {
		return relayError(err)
	}
	defer resends.Close()
	started := RelayStarted{Account: *acct, CertificateDir: dir, PlainFrom: cfg.Network.PlainFrom, QueueOnly: cfg.QueueOnly}
	var cert tls.Certificate
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		cert, err = relay.LoadCertificate(cfg.CertFile, cfg.KeyFile)
	} else {
		cert, started.CertificateMade, err = relay.LoadOrCreateCertificate(dir, relay.CertificateHosts(cfg.Hostname, cfg.Network.ListenAddr), d.Now())
	}
	if err != nil {
		return relayError(err)
	}
	started.Fingerprint = relay.Fingerprint(cert)
	auditLog, err := d.Audit()
	if err != nil {
		return fmt.Errorf("relay: audit log: %w", err)
	}
	tmp, err := d.home.Sub("relay", "incoming")
	if err != nil {
		return relayError(err)
	}
	ob, err := d.Outbox(OutboxOptions{Via: Via{Account: cfg.Account}, Notify: cfg.Notify})
	if err != nil {
		return relayError(err)
	}
	sub := &RelaySubmitter{Outbox: ob, DocType: cfg.DocType}
	// The deliveries stop with the relay, even when it stops on an error,
	// and are waited for before the lock goes.
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	if !cfg.QueueOnly {
		d.relayDeliveries(ctx, &wg, ob, sub, cfg)
	}
	srv, err := relay.New(relay.Options{
		Devices: devices, Resolver: resolver, Submitter: sub, Resends: resends, Audit: auditLog, TLS: cert,
		Allow: cfg.Network.Allow, PlainFrom: cfg.Network.PlainFrom, Hostname: cfg.Hostname, MaxMessageBytes: cfg.MaxMessageBytes,
		MaxConnections: cfg.MaxConnections, MaxConnectionsPerAddress: cfg.MaxConnectionsPerAddress, MaxPerMinute: cfg.MaxPerMinute,
		TempDir: tmp, Log: cfg.Log,
	})
	if err != nil {
		return relayError(err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return relayError(err)
	}
	started.Addr = ln.Addr()
	for _, dev := range devs {
		started.Devices = append(started.Devices, dev.Name)
	}
	if cfg.Started != nil {
		cfg.Started(started)
	}
	return relayError(srv.Serve(ctx, ln))
}

// relayDeliveries starts delivering the relay's jobs: what a crash or a
// stop left queued (each already answered 250 to its device) first, then
// each job as soon as it is queued, and the deferred ones as they become
// due, until ctx ends; wg counts the goroutines.
func (d *Desk) relayDeliveries(ctx context.Context, wg *sync.WaitGroup, ob *Outbox, sub *RelaySubmitter, cfg RelayConfig) {
	problem := func(err error) {
		if cfg.Problem != nil && err != nil {
			cfg.Problem(err)
		}
	}
	run := ob.NewRun(func(ev RunEvent) {
		if ev.Record == nil {
			problem(ev.Err)
		}
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := run.Adopt(ctx); err != nil {
			problem(err)
		}
		run.RetryEvery(ctx, cfg.Poll)
	}()
	sub.Queued = func(id JobID) {
		wg.Add(1)
		go func() { defer wg.Done(); run.Deliver(ctx, id, id) }()
	}
}

// relayError prefixes err with "relay: " unless it has it already; nil
// stays nil.
func relayError(err error) error {
	if err == nil || strings.HasPrefix(err.Error(), "relay: ") {
		return err
	}
	return fmt.Errorf("relay: %w", err)
}

// relayDevices are the devices that may sign in to the home's relay.
func (d *Desk) relayDevices() (*relay.Devices, error) {
	dir, err := d.home.Sub("relay")
	if err != nil {
		return nil, relayError(err)
	}
	return relay.OpenDevices(relay.DevicesPath(dir)), nil
}

// AddRelayDevice lets a device sign in to the home's relay as name with
// password (kept only as an argon2id hash); a running relay takes it at
// the device's next sign-in.
func (d *Desk) AddRelayDevice(name, password string) error {
	devs, err := d.relayDevices()
	if err != nil {
		return err
	}
	return devs.Add(name, password)
}

// RelayDeviceList lists the devices that may sign in to the home's relay.
func (d *Desk) RelayDeviceList() ([]relay.Device, error) {
	devs, err := d.relayDevices()
	if err != nil {
		return nil, err
	}
	return devs.List()
}

// RemoveRelayDevice stops device name signing in to the home's relay, at
// once, also while the relay runs.
func (d *Desk) RemoveRelayDevice(name string) error {
	devs, err := d.relayDevices()
	if err != nil {
		return err
	}
	return devs.Remove(name)
}
