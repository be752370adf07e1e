package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/relay"
	"github.com/securesend/securesend/send/outbox"
)

func relayCommand() command {
	return command{name: "relay", summary: "receive scans from the practice's printers (scan to e-mail) and send them securely", usage: relayUsage, flags: relayDefine,
		subs: []command{{name: "device", summary: "manage the devices that may sign in", usage: relayDeviceUsage, subs: []command{
			{name: "add", summary: "let a device sign in as NAME", usage: "Usage: securesend relay device add NAME --password-stdin\n", args: argRule{max: -1}, flags: relayDeviceAdd},
			{name: "list", summary: "list the devices", usage: "Usage: securesend relay device list\n", run: relayDeviceList},
			{name: "remove", summary: "stop a device signing in, at once", usage: "Usage: securesend relay device remove NAME\n", args: deviceName, run: relayDeviceRemove},
		}}}}
}

// deviceName is the NAME of a relay device.
var deviceName = oneArg("give the device's NAME")

const relayUsage = `Usage: securesend relay --account NAME [flags]
       securesend relay device add NAME --password-stdin
       securesend relay device list
       securesend relay device remove NAME

Runs an SMTP submission service for the practice's multifunction printers
(MFDs): a device signs in with its own name and password (see 'relay
device add'), after STARTTLS, and e-mails its scan to a recipient in your
organisation's directory or with a pinned key (or an --alias of one).
Every attachment is checked; the scan is signed with your key, encrypted
to the recipient, written to the encrypted outbox and only then is the
device told it was sent (250). It is delivered with the stored account,
as 'securesend send' would; after a crash 'securesend outbox run'
delivers what was queued.

It listens on loopback unless told otherwise; any other --listen address
needs --allow for the devices' networks. Old devices that cannot do TLS
may send in plain text only from an address given with --allow-plain-from
(each such message is recorded in the audit log). Runs in the foreground
until interrupted (see docs/relay.md for the systemd unit and Windows
service).
`

const relayDeviceUsage = `The devices that may sign in to the relay. A device's password is kept only
as an argon2id hash; enter the same password in the device's scan-to-e-mail
(SMTP AUTH) settings.
`

func relayDefine(fs *flag.FlagSet) runFunc {
	var (
		account, listen, certFile, keyFile, hostname, docType string
		allow, plainFrom, aliases                             listFlag
		maxMB                                                 int64
		maxConns, maxPerAddr, perMinute                       int
		queueOnly                                             bool
		poll                                                  time.Duration
	)
	fs.StringVar(&account, "account", "", "send as the stored account `name` (required; see 'securesend account add')")
	fs.StringVar(&listen, "listen", "127.0.0.1:2525", "`address` to listen on")
	fs.Var(&allow, "allow", "client `network` allowed to connect, e.g. 192.0.2.0/24; repeat for several (required unless --listen is loopback)")
	fs.Var(&plainFrom, "allow-plain-from", "device `address` allowed to sign in and send WITHOUT TLS (old MFDs only); repeatable")
	fs.StringVar(&certFile, "cert", "", "PEM `file` of the TLS certificate chain (default: one generated and kept in the home)")
	fs.StringVar(&keyFile, "key", "", "PEM `file` of the TLS certificate's private key (with --cert)")
	fs.StringVar(&hostname, "hostname", "", "`name` of this computer as devices reach it (greeting, generated certificate); default the system's")
	fs.Var(&aliases, "alias", "short recipient `name=address`, e.g. mainst=pharmacy@mainst.example.nz (then mainst@relay works); the address must be a directory or pinned recipient")
	fs.StringVar(&docType, "doc-type", "Other", "document type when the subject does not name one: "+strings.Join(desk.DocumentTypes, ", "))
	fs.Int64Var(&maxMB, "max-size", relay.DefaultMaxMessageBytes>>20, "largest message taken, in `MB`")
	fs.IntVar(&maxConns, "max-connections", relay.DefaultMaxConnections, "most connections at once")
	fs.IntVar(&maxPerAddr, "max-per-address", relay.DefaultMaxConnectionsPerAddress, "most connections at once from one IP address (a device opens one or two)")
	fs.IntVar(&perMinute, "per-minute", relay.DefaultMaxPerMinute, "most messages a minute per device")
	fs.BoolVar(&queueOnly, "queue-only", false, "only queue; deliver with 'securesend outbox run' (e.g. its own service)")
	fs.DurationVar(&poll, "poll", time.Minute, "how often to retry deferred jobs, a `duration` such as 30s")
	return func(ctx context.Context, c *call) error {
		switch {
		case account == "":
			return usagef("missing --account")
		case (certFile == "") != (keyFile == ""):
			return usagef("--cert and --key go together")
		case maxMB <= 0 || maxMB > 1<<10 || maxConns <= 0 || maxPerAddr <= 0 || perMinute <= 0 || poll <= 0:
			return usagef("--max-size (1 to 1024), --max-connections, --max-per-address, --per-minute and --poll must be positive")
		}
		if docType = relay.MatchDocType(desk.DocumentTypes, docType); docType == "" {
			return usagef("--doc-type must be one of %s", strings.Join(desk.DocumentTypes, ", "))
		}
		network, err := relay.ParseNetwork(listen, allow, plainFrom)
		if err != nil {
			return usagef("%v", err)
		}
		aliasMap, err := relay.ParseAliases(aliases)
		if err != nil {
			return usagef("%v", err)
		}
		out := &lockedWriter{w: c.stdout}
		return bare(c.desk.Relay(ctx, desk.RelayConfig{Account: account, Listen: listen, Network: network, Aliases: aliasMap, CertFile: certFile, KeyFile: keyFile,
			Hostname: hostname, DocType: docType, MaxMessageBytes: maxMB << 20, MaxConnections: maxConns, MaxConnectionsPerAddress: maxPerAddr, MaxPerMinute: perMinute,
			QueueOnly: queueOnly, Poll: poll, Log: &lockedWriter{w: c.stderr},
			Notify:  func(r outbox.Record) { outboxReportJob(out, &r) },
			Problem: func(err error) { fmt.Fprintf(out, "securesend: outbox: %s\n", desk.KeyText(err.Error())) },
			Started: func(s desk.RelayStarted) { relayStarted(c.env, s) },
		}))
	}
}

// relayStarted prints what the relay serves (desk.RelayStartedLines).
func relayStarted(e *env, s desk.RelayStarted) {
	lines, warnings := desk.RelayStartedLines(s)
	printLines(e.stdout, lines)
	printLines(e.stderr, warnings)
}

func relayDeviceAdd(fs *flag.FlagSet) runFunc {
	stdin := fs.Bool("password-stdin", false, "read the device's password from the first line of standard input (required)")
	return func(_ context.Context, c *call) error {
		if len(c.args) != 1 || !*stdin {
			return usagef("give NAME and --password-stdin (the password is never accepted on the command line)")
		}
		pw, err := readSecret(c.stdin, "--password-stdin")
		if err != nil {
			return err
		}
		if err := c.desk.AddRelayDevice(c.arg(), pw); err != nil {
			return bare(err)
		}
		fmt.Fprintf(c.stdout, "Device %s may sign in to the relay. In its scan-to-e-mail settings: SMTP with STARTTLS, authentication on, user name %s, this password.\n", c.arg(), c.arg())
		return nil
	}
}

func relayDeviceList(_ context.Context, c *call) error {
	list, err := c.desk.RelayDeviceList()
	if err != nil {
		return bare(err)
	}
	if len(list) == 0 {
		fmt.Fprintln(c.stdout, "No devices. Add one with 'securesend relay device add NAME --password-stdin'.")
		return nil
	}
	printTable(c.stdout, []string{"DEVICE", "ADDED"}, list, func(_ int, dev relay.Device) []string {
		return []string{desk.KeyText(dev.Name), dev.Added.Local().Format("2006-01-02 15:04")}
	})
	return nil
}

func relayDeviceRemove(_ context.Context, c *call) error {
	if err := c.desk.RemoveRelayDevice(c.arg()); err != nil {
		return bare(err)
	}
	fmt.Fprintf(c.stdout, "Device %s can no longer sign in.\n", desk.KeyText(c.arg()))
	return nil
}

// lockedWriter serialises the relay's log lines with other output.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
