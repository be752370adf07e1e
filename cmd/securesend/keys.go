package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/send"
)

const keysUsage = `Usage: securesend keys COMMAND [flags] [args]

Manages OpenPGP keys: your own (to sign, and to decrypt what is sent to
you) and your correspondents' (to encrypt to them, and to verify their
signatures). Your secret key is stored locked on disk; the passphrase that
unlocks it lives only in the OS keychain.

Commands:
  generate --name NAME --email ADDRESS   create your key (Ed25519/X25519)
  list                                   list all keys with their trust
  export [FINGERPRINT]                   print a public key (yours by default)
  import FILE [--email ADDRESS] [--pin]  add a correspondent's public key
  import --secret FILE [--passphrase-stdin]
                                         import your existing key (from gpg)
  pin FINGERPRINT                        mark a key pinned, after comparing
                                         its fingerprint with its owner
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

// openKeyStore opens the key store of the securesend home, with the OS
// keychain for the secret key passphrases.
func openKeyStore(e *env) (*pgp.Store, error) {
	h, kc, err := openHome(e)
	if err != nil {
		return nil, err
	}
	dir, err := h.Sub("keys")
	if err != nil {
		return nil, err
	}
	return pgp.OpenStore(dir, kc, nil)
}

// keysFlagSet returns a flag set for 'keys name' whose usage is the keys
// usage.
func keysFlagSet(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("keys "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), keysUsage)
		fmt.Fprintf(fs.Output(), "\nFlags of 'keys %s':\n", name)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses flags that may come before or after positional
// arguments. It returns the positional arguments, or a non-zero exit code.
func parseFlags(e *env, fs *flag.FlagSet, args []string) ([]string, int) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0
			}
			return nil, 2
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, -1
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
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
func keyArgs(e *env, fs *flag.FlagSet, args []string) (pgp.Fingerprint, *pgp.Store, int) {
	pos, code := parseFlags(e, fs, args)
	if code >= 0 {
		return "", nil, code
	}
	fpr, code := fingerprintArg(e, pos)
	if code >= 0 {
		return "", nil, code
	}
	s, err := openKeyStore(e)
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
	s, err := openKeyStore(e)
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
	fmt.Fprintf(e.stdout, "Created your key for %s\n", strings.Join(ent.UserIDs, ", "))
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
	s, err := openKeyStore(e)
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
		trust := string(ent.Trust)
		if ent.Secret {
			trust = "yours"
		}
		fmt.Fprintf(e.stdout, "%-10s %s  %s\n", trust, ent.Fingerprint.Grouped(), strings.Join(ent.Emails, ", "))
	}
	return 0
}

func keysExport(e *env, args []string) int {
	fs := keysFlagSet(e, "export")
	pos, code := parseFlags(e, fs, args)
	if code >= 0 {
		return code
	}
	s, err := openKeyStore(e)
	if err != nil {
		return errorf(e, "%v", err)
	}
	var fpr pgp.Fingerprint
	if len(pos) == 0 {
		own, err := s.Own()
		if err != nil {
			return errorf(e, "keys export: %v", err)
		}
		fpr = own.Fingerprint
	} else if fpr, code = fingerprintArg(e, pos); code >= 0 {
		return code
	}
	k, err := s.Public(fpr)
	if err != nil {
		return errorf(e, "keys export: %v", err)
	}
	if err := k.WriteArmored(e.stdout); err != nil {
		return errorf(e, "keys export: %v", err)
	}
	return 0
}

func keysImport(e *env, args []string) int {
	fs := keysFlagSet(e, "import")
	secret := fs.Bool("secret", false, "the file is your own secret key (e.g. from 'gpg --export-secret-keys --armor')")
	passStdin := fs.Bool("passphrase-stdin", false, "read the secret key's current passphrase from the first line of standard input")
	email := fs.String("email", "", "the `address` the key is for; refused unless one of the key's user IDs has it")
	pin := fs.Bool("pin", false, "mark the key pinned: you compared its fingerprint with its owner")
	pos, code := parseFlags(e, fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(e.stderr, "securesend keys import: need exactly one FILE ('-' for standard input)")
		return 2
	}
	s, err := openKeyStore(e)
	if err != nil {
		return errorf(e, "%v", err)
	}
	var passphrase []byte
	if *passStdin {
		if pos[0] == "-" {
			fmt.Fprintln(e.stderr, "securesend keys import: --passphrase-stdin needs the key in a FILE")
			return 2
		}
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			return errorf(e, "keys import: read passphrase: %v", err)
		}
		passphrase = []byte(strings.TrimRight(line, "\r\n"))
	}
	var in io.Reader = e.stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return errorf(e, "keys import: %v", err)
		}
		defer f.Close()
		in = f
	}
	if *secret {
		ent, err := s.ImportSecret(in, passphrase)
		if err != nil {
			return errorf(e, "keys import: %v", err)
		}
		fmt.Fprintf(e.stdout, "Imported your key %s (%s).\n", ent.Fingerprint.Grouped(), strings.Join(ent.UserIDs, ", "))
		fmt.Fprintln(e.stdout, "It is now locked with a new random passphrase kept in the OS keychain.")
		return 0
	}
	ent, err := s.Import(in, pgp.ImportOptions{Email: *email, Pin: *pin})
	if err != nil {
		return errorf(e, "keys import: %v", err)
	}
	auditKey(e, audit.KeyImport, ent)
	fmt.Fprintf(e.stdout, "Imported %s for %s (%s).\n", ent.Fingerprint.Grouped(), strings.Join(ent.Emails, ", "), ent.Trust)
	if ent.Trust != pgp.Pinned {
		fmt.Fprintln(e.stdout, "Compare the fingerprint with its owner (by phone, in person), then run 'securesend keys pin' with it.")
	}
	return 0
}

func keysPin(e *env, args []string) int {
	fpr, s, code := keyArgs(e, keysFlagSet(e, "pin"), args)
	if code >= 0 {
		return code
	}
	if err := s.Pin(fpr); err != nil {
		return errorf(e, "keys pin: %v", err)
	}
	ent, _ := s.Entry(fpr)
	ent.Fingerprint = fpr
	auditKey(e, audit.KeyPin, ent)
	fmt.Fprintf(e.stdout, "Pinned %s for %s.\n", fpr.Grouped(), strings.Join(ent.Emails, ", "))
	return 0
}

func keysShow(e *env, args []string) int {
	fpr, s, code := keyArgs(e, keysFlagSet(e, "show"), args)
	if code >= 0 {
		return code
	}
	ent, err := s.Entry(fpr)
	if err != nil {
		return errorf(e, "keys show: %v", err)
	}
	k, err := s.Public(fpr)
	if err != nil {
		return errorf(e, "keys show: %v", err)
	}
	trust := string(ent.Trust)
	if ent.Secret {
		trust = "yours (secret key locked on disk, passphrase in the OS keychain)"
	}
	fmt.Fprintf(e.stdout, "Fingerprint: %s\n", fpr.Grouped())
	for _, id := range k.UserIDs() {
		fmt.Fprintf(e.stdout, "User ID:     %s\n", id)
	}
	fmt.Fprintf(e.stdout, "Bound to:    %s\n", strings.Join(ent.Emails, ", "))
	fmt.Fprintf(e.stdout, "Trust:       %s\n", trust)
	fmt.Fprintf(e.stdout, "Created:     %s\n", k.Created().UTC().Format("2006-01-02"))
	if exp := k.Expires(); !exp.IsZero() {
		fmt.Fprintf(e.stdout, "Expires:     %s\n", exp.UTC().Format("2006-01-02"))
	}
	status := "usable"
	if err := k.UsableForEncryption(time.Now()); err != nil {
		status = "not usable to encrypt: " + err.Error()
	}
	fmt.Fprintf(e.stdout, "Status:      %s\n", status)
	return 0
}

func keysDelete(e *env, args []string) int {
	fs := keysFlagSet(e, "delete")
	yes := fs.Bool("yes", false, "confirm deleting your own secret key (it cannot be recovered)")
	fpr, s, code := keyArgs(e, fs, args)
	if code >= 0 {
		return code
	}
	ent, err := s.Entry(fpr)
	if err != nil {
		return errorf(e, "keys delete: %v", err)
	}
	if ent.Secret && !*yes {
		return errorf(e, "keys delete: %s is your own key; its secret key cannot be recovered. Add --yes to delete it.", fpr.Grouped())
	}
	if err := s.Delete(fpr); err != nil {
		return errorf(e, "keys delete: %v", err)
	}
	fmt.Fprintf(e.stdout, "Deleted %s.\n", fpr.Grouped())
	return 0
}

// protectionFor applies 'send --encrypt MODE' (always, auto or never; ""
// means auto) to m with the key store ks: it unlocks the user's own key
// for m.From from the OS keychain and looks up a usable key for every
// To/Cc address with keys (the policy's view of the key store, see
// policyKeys; nil means ks itself). A returned error means nothing may be
// sent. A user who has a key that cannot be unlocked gets an error, never
// a silent unsigned message.
func protectionFor(ks *pgp.Store, m *send.Message, mode string, keys send.KeyLookup) (send.Protection, error) {
	em, err := send.ParseEncryptMode(mode)
	if mode == "" {
		em, err = send.EncryptAuto, nil
	}
	if err != nil {
		return send.Protection{}, err
	}
	if keys == nil {
		keys = ks
	}
	es, err := ks.List()
	if err != nil {
		return send.Protection{}, err
	}
	var own []pgp.Entry
	var signer *pgp.Key
	for _, ent := range es {
		if !ent.Secret {
			continue
		}
		own = append(own, ent)
		if signer == nil && containsFold(ent.Emails, m.From.Address) {
			if signer, err = ks.SecretKey(ent.Fingerprint); err != nil {
				return send.Protection{}, fmt.Errorf("your key %s cannot be unlocked, so the message cannot be signed: %w", ent.Fingerprint.Grouped(), err)
			}
		}
	}
	if signer == nil && len(own) > 0 {
		return send.Protection{}, fmt.Errorf("none of your keys is for %s (yours: %s); create one with 'securesend keys generate --email %s': %w",
			m.From.Address, strings.Join(own[0].Emails, ", "), m.From.Address, send.ErrSignerNotSender)
	}
	return send.PlanProtection(m, em, signer, keys)
}

// auditKey records a key import or pin in the audit log (address,
// fingerprint, trust); a failure to record is a warning: the change is
// made.
func auditKey(e *env, kind audit.Kind, ent pgp.Entry) {
	err := auditRecord(e, kind, audit.Fields{
		"address": strings.Join(ent.Emails, " "), "fingerprint": string(ent.Fingerprint), "state": string(ent.Trust),
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "securesend: warning: the audit log could not record this: %v\n", err)
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
