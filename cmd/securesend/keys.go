package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/desk"
)

const keysUsage = `Manages OpenPGP keys: your own (to sign, and to decrypt what is sent to
you) and your correspondents' (to encrypt to them, and to verify their
signatures). Your secret key is stored locked on disk; the passphrase that
unlocks it lives only in the OS keychain. Fingerprints may be typed with or
without spaces.
`

// keysBinding is the help of 'keys import' and 'keys pin' on the
// addresses a key is bound to.
const keysBinding = `A key is bound only to the addresses you name with --email (repeat it for
more than one). A key may claim any address about itself; pin it only for
the addresses whose owner read you its fingerprint. Without --email a key
with one address is bound to it; for a key with more, securesend asks
about each on a terminal and refuses otherwise. --replace moves an address
pinned to another key to this one (the owner confirmed the new key).
`

func keysCommand() command {
	return command{name: "keys", summary: "manage OpenPGP keys: yours and your correspondents'", usage: keysUsage, subs: []command{
		{name: "generate", summary: "create your key (Ed25519/X25519)", usage: "Usage: securesend keys generate --name NAME --email ADDRESS\n", flags: keysGenerate},
		{name: "list", summary: "list all keys with their trust", usage: "Usage: securesend keys list\n", run: keysList},
		{name: "export", summary: "print your public key, or those of FINGERPRINT or ADDRESS",
			usage: "Usage: securesend keys export [FINGERPRINT | ADDRESS]\n", args: argRule{max: -1}, run: keysExport},
		{name: "import", summary: "add a correspondent's key (--secret: your own)",
			usage: "Usage: securesend keys import FILE [--email ADDRESS]... [--pin [--replace]]\n       securesend keys import --secret FILE [--passphrase-stdin]\n\n" +
				"Adds a correspondent's public key, or with --secret your existing key (from gpg).\n" + keysBinding,
			args: oneArg("need exactly one FILE ('-' for standard input)"), flags: keysImport},
		{name: "pin", summary: "pin a key for ADDRESS after comparing its fingerprint",
			usage: "Usage: securesend keys pin FINGERPRINT [--email ADDRESS]... [--replace]\n\n" + keysBinding, args: fingerprintArg, flags: keysPin},
		{name: "show", summary: "show a key's details", usage: "Usage: securesend keys show FINGERPRINT\n", args: fingerprintArg, run: keysShow},
		{name: "delete", summary: "remove a key (--yes for your own)", usage: "Usage: securesend keys delete FINGERPRINT [--yes]\n", args: fingerprintArg, flags: keysDelete},
	}}
}

// fingerprintArg is a FINGERPRINT, which may be typed in groups (several
// arguments).
var fingerprintArg = someArgs("missing FINGERPRINT (see 'securesend keys list')")

// keyArg parses c's FINGERPRINT arguments and opens the key store of c's
// desk (the OS keychain holds the secret key passphrases) with the key use
// cases (audited imports and pins).
func keyArg(c *call) (*desk.KeyManager, pgp.Fingerprint, error) {
	fpr, err := pgp.ParseFingerprint(strings.Join(c.args, ""))
	if err != nil {
		return nil, "", err
	}
	s, err := c.desk.ManageKeys()
	return s, fpr, err
}

func keysGenerate(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "your `name` as correspondents should see it (required)")
	email := fs.String("email", "", "your e-mail `address` (required)")
	return func(_ context.Context, c *call) error {
		if *name == "" || *email == "" {
			return usagef("--name and --email are required")
		}
		s, err := c.desk.ManageKeys()
		if err != nil {
			return err
		}
		if own, err := s.Own(); err == nil {
			fmt.Fprintf(c.stderr, "securesend: note: you already have a key (%s); the new one is added and the first stays your default.\n", own.Fingerprint.Grouped())
		}
		ent, err := s.Generate(*name, *email)
		if err != nil {
			return err
		}
		printLines(c.stdout, desk.OwnKeyLines(ent, true))
		return nil
	}
}

func keysList(_ context.Context, c *call) error {
	s, err := c.desk.ManageKeys()
	if err != nil {
		return err
	}
	es, err := s.List()
	if err != nil {
		return err
	}
	if len(es) == 0 {
		fmt.Fprintln(c.stdout, "No keys yet. Create yours with 'securesend keys generate'.")
	}
	for _, ent := range es {
		fmt.Fprintln(c.stdout, desk.KeyLine(ent))
	}
	return nil
}

func keysExport(_ context.Context, c *call) error {
	pos := c.args
	if len(pos) > 1 && !strings.Contains(pos[0], "@") {
		pos = []string{strings.Join(pos, "")} // a fingerprint typed in groups
	}
	if len(pos) > 1 {
		return usagef("give one FINGERPRINT or ADDRESS")
	}
	s, err := c.desk.ManageKeys()
	if err != nil {
		return err
	}
	sel := ""
	if len(pos) == 1 {
		sel = pos[0]
	}
	keys, err := s.Export(sel)
	for _, k := range keys {
		if err == nil {
			err = k.WriteArmored(c.stdout)
		}
	}
	return err
}

func keysImport(fs *flag.FlagSet) runFunc {
	secret := fs.Bool("secret", false, "the file is your own secret key (e.g. from 'gpg --export-secret-keys --armor')")
	passStdin := fs.Bool("passphrase-stdin", false, "read the secret key's current passphrase from the first line of standard input")
	var emails emailFlags
	fs.Var(&emails, "email", "an `address` to bind the key to (repeatable); refused unless one of the key's user IDs has it")
	pin := fs.Bool("pin", false, "mark the key pinned for its addresses: you compared its fingerprint with their owner")
	replace := fs.Bool("replace", false, "with --pin: move an address pinned to another key to this one")
	return func(_ context.Context, c *call) error {
		file := c.arg()
		switch {
		case *replace && !*pin:
			return usagef("--replace needs --pin")
		case *passStdin && file == "-":
			return usagef("--passphrase-stdin needs the key in a FILE")
		}
		s, err := c.desk.ManageKeys()
		if err != nil {
			return err
		}
		var passphrase []byte
		if *passStdin {
			line, err := readSecret(c.stdin, "--passphrase-stdin")
			if err != nil {
				return err
			}
			passphrase = []byte(line)
		}
		in, err := openInput(c.env, file)
		if err != nil {
			return err
		}
		defer in.Close()
		if *secret {
			ent, err := s.ImportSecret(in, passphrase)
			if err != nil {
				return err
			}
			printLines(c.stdout, desk.OwnKeyLines(ent, false))
			return nil
		}
		var confirm desk.ConfirmAddresses
		if isTerminal(c.stdin) && file != "-" {
			confirm = func(k *pgp.PublicKey) ([]string, error) { return confirmAddresses(c.env, k) }
		}
		ent, err := s.ImportConfirming(in, pgp.ImportOptions{Emails: emails, Pin: *pin, Replace: *replace}, confirm)
		if err != nil {
			return err
		}
		printLines(c.stdout, desk.KeyImportedLines(ent))
		return nil
	}
}

// emailFlags is the repeatable --email flag of keys import and keys pin.
type emailFlags []string

func (l *emailFlags) String() string { return strings.Join(*l, ", ") }
func (l *emailFlags) Set(v string) error {
	if pgp.NormalizeAddress(v) == "" {
		return fmt.Errorf("%q is not an e-mail address", v)
	}
	*l = append(*l, v)
	return nil
}

// confirmAddresses asks on the terminal, address by address, which of k's
// addresses its owner confirmed, and returns those (an error when none).
func confirmAddresses(e *env, k *pgp.PublicKey) ([]string, error) {
	fmt.Fprintf(e.stderr, "Key %s claims %d addresses. A key can claim any address about itself:\n", k.Fingerprint().Grouped(), len(k.Emails()))
	fmt.Fprintln(e.stderr, "pin it only for those whose owner read you this fingerprint.")
	in := bufio.NewReader(e.stdin)
	var yes []string
	for _, a := range k.Emails() {
		fmt.Fprintf(e.stderr, "Pin it for %s? [y/N] ", desk.KeyText(k.UserIDFor(a)))
		line, err := in.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			fmt.Fprintln(e.stderr)
			return nil, fmt.Errorf("no answer; nothing pinned")
		}
		if ans := strings.ToLower(strings.TrimSpace(line)); ans == "y" || ans == "yes" {
			yes = append(yes, a)
		}
	}
	if len(yes) == 0 {
		return nil, fmt.Errorf("no address confirmed; nothing pinned")
	}
	return yes, nil
}

func keysPin(fs *flag.FlagSet) runFunc {
	var emails emailFlags
	fs.Var(&emails, "email", "an `address` to pin the key for (repeatable); its owner confirmed the fingerprint")
	replace := fs.Bool("replace", false, "move an address pinned to another key to this one (the owner confirmed the new key replaces it)")
	return func(_ context.Context, c *call) error {
		s, fpr, err := keyArg(c)
		if err != nil {
			return err
		}
		var confirm desk.ConfirmAddresses
		if isTerminal(c.stdin) {
			confirm = func(k *pgp.PublicKey) ([]string, error) { return confirmAddresses(c.env, k) }
		}
		ent, err := s.PinConfirming(fpr, emails, *replace, confirm)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Pinned %s for %s.\n", fpr.Grouped(), desk.KeyText(strings.Join(ent.Emails, ", ")))
		return nil
	}
}

func keysShow(_ context.Context, c *call) error {
	s, fpr, err := keyArg(c)
	if err != nil {
		return err
	}
	lines, err := s.KeyDetails(fpr)
	printLines(c.stdout, lines)
	return err
}

func keysDelete(fs *flag.FlagSet) runFunc {
	yes := fs.Bool("yes", false, "confirm deleting your own secret key (it cannot be recovered)")
	return func(_ context.Context, c *call) error {
		s, fpr, err := keyArg(c)
		if err != nil {
			return err
		}
		if err := s.Delete(fpr, *yes); errors.Is(err, desk.ErrOwnKey) {
			return exitCode(errorf(c.env, "keys delete: %s is your own key; its secret key cannot be recovered. Add --yes to delete it.", fpr.Grouped()))
		} else if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Deleted %s.\n", fpr.Grouped())
		return nil
	}
}
