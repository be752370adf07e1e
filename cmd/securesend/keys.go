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

const keysUsage = `Usage: securesend keys COMMAND [flags] [args]

Manages OpenPGP keys: your own (to sign, and to decrypt what is sent to
you) and your correspondents' (to encrypt to them, and to verify their
signatures). Your secret key is stored locked on disk; the passphrase that
unlocks it lives only in the OS keychain.

Commands:
  generate --name NAME --email ADDRESS   create your key (Ed25519/X25519)
  list                                   list all keys with their trust
  export [FINGERPRINT | ADDRESS]         print a public key (yours by default;
                                         for an ADDRESS, the keys bound to it)
  import FILE [--email ADDRESS]... [--pin [--replace]]
                                         add a correspondent's public key
  import --secret FILE [--passphrase-stdin]
                                         import your existing key (from gpg)
  pin FINGERPRINT [--email ADDRESS]... [--replace]
                                         mark a key pinned for ADDRESS, after
                                         comparing its fingerprint with its
                                         owner

A key is bound only to the addresses you name with --email (repeat it for
more than one). A key may claim any address about itself; pin it only for
the addresses whose owner read you its fingerprint. Without --email a key
with one address is bound to it; for a key with more, securesend asks
about each on a terminal and refuses otherwise. --replace moves an address
pinned to another key to this one (the owner confirmed the new key).
  show FINGERPRINT                       show a key's details
  delete FINGERPRINT [--yes]             remove a key (--yes for your own)

Fingerprints may be typed with or without spaces.
`

func keysCommand() command {
	return command{
		name:    "keys",
		summary: "manage OpenPGP keys: yours and your correspondents'",
		run:     runKeys,
	}
}

func runKeys(ctx context.Context, e *env, args []string) int {
	return subcommands(e, "keys", keysUsage, args, map[string]func([]string) int{
		"generate": func(a []string) int { return keysGenerate(e, a) },
		"list":     func(a []string) int { return keysList(e, a) },
		"export":   func(a []string) int { return keysExport(e, a) },
		"import":   func(a []string) int { return keysImport(e, a) },
		"pin":      func(a []string) int { return keysPin(e, a) },
		"show":     func(a []string) int { return keysShow(e, a) },
		"delete":   func(a []string) int { return keysDelete(e, a) },
	})
}

// openKeys opens the key store of the securesend home (the OS keychain
// holds the secret key passphrases) with the key use cases (audited
// imports and pins).
func openKeys(e *env) (*desk.KeyManager, error) {
	d, err := openDesk(e)
	if err != nil {
		return nil, err
	}
	return d.ManageKeys()
}

// keysFlagSet returns the flag set of 'keys name', whose help is the keys
// usage and its flags.
func keysFlagSet(e *env, name string) *flag.FlagSet {
	return commandFlags(e, "keys "+name, keysUsage+"\nFlags of 'keys "+name+"':\n")
}

// fingerprintArg joins args (a fingerprint typed in groups) and parses it.
func fingerprintArg(e *env, args []string) (pgp.Fingerprint, int) {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "securesend keys: missing FINGERPRINT (see 'securesend keys list')")
		return "", 2
	}
	fpr, err := pgp.ParseFingerprint(strings.Join(args, ""))
	if err != nil {
		return "", errorf(e, "%v", err)
	}
	return fpr, -1
}

// keyArgs parses the flags of 'keys NAME' (defined on fs) and its
// FINGERPRINT argument, and opens the key store. A code >= 0 means the
// command ends with it (the error is already reported).
func keyArgs(e *env, fs *flag.FlagSet, args []string) (pgp.Fingerprint, *desk.KeyManager, int) {
	pos, code := parseFlags(e, fs, args)
	if code >= 0 {
		return "", nil, code
	}
	fpr, code := fingerprintArg(e, pos)
	if code >= 0 {
		return "", nil, code
	}
	s, err := openKeys(e)
	if err != nil {
		return "", nil, errorf(e, "%v", err)
	}
	return fpr, s, -1
}

func keysGenerate(e *env, args []string) int {
	fs := keysFlagSet(e, "generate")
	name := fs.String("name", "", "your `name` as correspondents should see it (required)")
	email := fs.String("email", "", "your e-mail `address` (required)")
	if _, code := parseFlags(e, fs, args); code >= 0 {
		return code
	}
	if *name == "" || *email == "" {
		fmt.Fprintln(e.stderr, "securesend keys generate: --name and --email are required")
		return 2
	}
	s, err := openKeys(e)
	if err != nil {
		return errorf(e, "%v", err)
	}
	if own, err := s.Own(); err == nil {
		fmt.Fprintf(e.stderr, "securesend: note: you already have a key (%s); the new one is added and the first stays your default.\n", own.Fingerprint.Grouped())
	}
	ent, err := s.Generate(*name, *email)
	if err != nil {
		return errorf(e, "keys generate: %v", err)
	}
	fmt.Fprintf(e.stdout, "Created your key for %s\n", keyText(strings.Join(ent.UserIDs, ", ")))
	fmt.Fprintf(e.stdout, "Fingerprint: %s\n", ent.Fingerprint.Grouped())
	fmt.Fprintln(e.stdout, "The secret key is locked on disk; its passphrase is in the OS keychain.")
	fmt.Fprintln(e.stdout, "Give your correspondents 'securesend keys export' and read them the fingerprint.")
	return 0
}

func keysList(e *env, args []string) int {
	fs := keysFlagSet(e, "list")
	if pos, code := parseFlags(e, fs, args); code >= 0 {
		return code
	} else if len(pos) > 0 {
		fmt.Fprintln(e.stderr, "securesend keys list: takes no arguments")
		return 2
	}
	s, err := openKeys(e)
	if err != nil {
		return errorf(e, "%v", err)
	}
	es, err := s.List()
	if err != nil {
		return errorf(e, "%v", err)
	}
	if len(es) == 0 {
		fmt.Fprintln(e.stdout, "No keys yet. Create yours with 'securesend keys generate'.")
		return 0
	}
	for _, ent := range es {
		fmt.Fprintln(e.stdout, desk.KeyLine(ent))
	}
	return 0
}

func keysExport(e *env, args []string) int {
	fs := keysFlagSet(e, "export")
	pos, code := parseFlags(e, fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 1 && !strings.Contains(pos[0], "@") {
		pos = []string{strings.Join(pos, "")} // a fingerprint typed in groups
	}
	if len(pos) > 1 {
		fmt.Fprintln(e.stderr, "securesend keys export: give one FINGERPRINT or ADDRESS")
		return 2
	}
	s, err := openKeys(e)
	if err != nil {
		return errorf(e, "%v", err)
	}
	sel := ""
	if len(pos) == 1 {
		sel = pos[0]
	}
	keys, err := s.Export(sel)
	if err != nil {
		return errorf(e, "keys export: %v", err)
	}
	for _, k := range keys {
		if err := k.WriteArmored(e.stdout); err != nil {
			return errorf(e, "keys export: %v", err)
		}
	}
	return 0
}

func keysImport(e *env, args []string) int {
	fs := keysFlagSet(e, "import")
	secret := fs.Bool("secret", false, "the file is your own secret key (e.g. from 'gpg --export-secret-keys --armor')")
	passStdin := fs.Bool("passphrase-stdin", false, "read the secret key's current passphrase from the first line of standard input")
	var emails emailFlags
	fs.Var(&emails, "email", "an `address` to bind the key to (repeatable); refused unless one of the key's user IDs has it")
	pin := fs.Bool("pin", false, "mark the key pinned for its addresses: you compared its fingerprint with their owner")
	replace := fs.Bool("replace", false, "with --pin: move an address pinned to another key to this one")
	pos, code := parseFlags(e, fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(e.stderr, "securesend keys import: need exactly one FILE ('-' for standard input)")
		return 2
	}
	if *replace && !*pin {
		fmt.Fprintln(e.stderr, "securesend keys import: --replace needs --pin")
		return 2
	}
	s, err := openKeys(e)
	if err != nil {
		return errorf(e, "%v", err)
	}
	var passphrase []byte
	if *passStdin {
		if pos[0] == "-" {
			fmt.Fprintln(e.stderr, "securesend keys import: --passphrase-stdin needs the key in a FILE")
			return 2
		}
		line, err := readLine(e.stdin)
		if err != nil {
			return errorf(e, "keys import: read passphrase: %v", err)
		}
		passphrase = []byte(line)
	}
	in, err := openInput(e, pos[0])
	if err != nil {
		return errorf(e, "keys import: %v", err)
	}
	defer in.Close()
	if *secret {
		ent, err := s.ImportSecret(in, passphrase)
		if err != nil {
			return errorf(e, "keys import: %v", err)
		}
		fmt.Fprintf(e.stdout, "Imported your key %s (%s).\n", ent.Fingerprint.Grouped(), keyText(strings.Join(ent.UserIDs, ", ")))
		fmt.Fprintln(e.stdout, "It is now locked with a new random passphrase kept in the OS keychain.")
		return 0
	}
	var confirm desk.ConfirmAddresses
	if isTerminal(e.stdin) && pos[0] != "-" {
		confirm = func(k *pgp.PublicKey) ([]string, error) { return confirmAddresses(e, k) }
	}
	ent, err := s.ImportConfirming(in, pgp.ImportOptions{Emails: emails, Pin: *pin, Replace: *replace}, confirm)
	if err != nil {
		return errorf(e, "keys import: %v", err)
	}
	if len(ent.Emails) == 0 {
		fmt.Fprintf(e.stdout, "Imported %s (%s), not bound to any address; it claims %s.\n",
			ent.Fingerprint.Grouped(), ent.Trust, keyText(strings.Join(ent.Claimed, ", ")))
		fmt.Fprintf(e.stdout, "Compare the fingerprint with its owner (by phone, in person), then run 'securesend keys pin %s --email ADDRESS' for each address they confirm.\n", ent.Fingerprint)
		return 0
	}
	fmt.Fprintf(e.stdout, "Imported %s for %s (%s).\n", ent.Fingerprint.Grouped(), keyText(strings.Join(ent.Emails, ", ")), ent.Trust)
	if ent.Trust != pgp.Pinned {
		fmt.Fprintf(e.stdout, "Compare the fingerprint with its owner (by phone, in person), then run 'securesend keys pin %s --email %s'.\n", ent.Fingerprint, ent.Emails[0])
	}
	return 0
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
		fmt.Fprintf(e.stderr, "Pin it for %s? [y/N] ", keyText(k.UserIDFor(a)))
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

func keysPin(e *env, args []string) int {
	fs := keysFlagSet(e, "pin")
	var emails emailFlags
	fs.Var(&emails, "email", "an `address` to pin the key for (repeatable); its owner confirmed the fingerprint")
	replace := fs.Bool("replace", false, "move an address pinned to another key to this one (the owner confirmed the new key replaces it)")
	fpr, s, code := keyArgs(e, fs, args)
	if code >= 0 {
		return code
	}
	var confirm desk.ConfirmAddresses
	if isTerminal(e.stdin) {
		confirm = func(k *pgp.PublicKey) ([]string, error) { return confirmAddresses(e, k) }
	}
	ent, err := s.PinConfirming(fpr, emails, *replace, confirm)
	if err != nil {
		return errorf(e, "keys pin: %v", err)
	}
	fmt.Fprintf(e.stdout, "Pinned %s for %s.\n", fpr.Grouped(), keyText(strings.Join(ent.Emails, ", ")))
	return 0
}

func keysShow(e *env, args []string) int {
	fpr, s, code := keyArgs(e, keysFlagSet(e, "show"), args)
	if code >= 0 {
		return code
	}
	lines, err := s.KeyDetails(fpr)
	if err != nil {
		return errorf(e, "keys show: %v", err)
	}
	printLines(e.stdout, lines)
	return 0
}

func keysDelete(e *env, args []string) int {
	fs := keysFlagSet(e, "delete")
	yes := fs.Bool("yes", false, "confirm deleting your own secret key (it cannot be recovered)")
	fpr, s, code := keyArgs(e, fs, args)
	if code >= 0 {
		return code
	}
	if err := s.Delete(fpr, *yes); errors.Is(err, desk.ErrOwnKey) {
		return errorf(e, "keys delete: %s is your own key; its secret key cannot be recovered. Add --yes to delete it.", fpr.Grouped())
	} else if err != nil {
		return errorf(e, "keys delete: %v", err)
	}
	fmt.Fprintf(e.stdout, "Deleted %s.\n", fpr.Grouped())
	return 0
}

// keyText makes text from a key safe for a terminal (desk.KeyText).
func keyText(s string) string { return desk.KeyText(s) }
