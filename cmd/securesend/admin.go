package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/packaging"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/profile/author"
	"github.com/securesend/securesend/send"
)

func adminCommand() command {
	return command{name: "admin", summary: "organisation admin: admin key, signed profile, preconfigured installers", usage: adminUsage, subs: []command{
		adminCmd("key generate", "create the organisation admin key (Ed25519, OpenPGP)", "Creates the organisation admin key: admin-key.asc (public, pinned into installers)\nand admin-key.private.asc (private, passphrase-protected; keep it offline).\nThe passphrase is read from stdin with --passphrase-stdin, otherwise a random one\nis generated and kept in this computer's OS keychain.", adminKeyGenerate),
		adminCmd("profile init", "write a commented example profile", "Writes a commented example profile to edit (reference: docs/profile.md).", adminProfileInit),
		adminCmd("profile add-recipient", "add a directory entry with its OpenPGP key", "Appends a directory entry to a profile. The key must be the recipient's\narmored OpenPGP public key with an identity for --email and an encryption subkey.\nSign the profile again afterwards (and raise its serial).", adminProfileAddRecipient),
		adminCmd("profile sign", "sign a profile with the admin key", "Checks the profile and writes a detached OpenPGP signature next to it.\nThe passphrase comes from stdin with --passphrase-stdin, otherwise from the\nOS keychain where 'admin key generate' put it.", adminProfileSign),
		adminCmd("profile verify", "check a profile's signature and content", "Checks that a profile is valid and signed by the admin key.", adminProfileVerify),
		withDesk(adminCmd("profile show", "show the profile in force (--embedded: the baked one)", "Shows the organisation profile in force, as the app loads and verifies it\n(baked into this binary, or system-wide), with --embedded only the baked one,\nor with --profile a signed profile on disk. --effective adds the effective\npolicy after the user's settings (the security.toml file in the securesend\nhome, then the flags below), which can only tighten it.", adminProfileShow)),
		withDesk(adminCmd("policy check", "dry-run the policy for a message", "Dry-runs the effective policy for a message, as 'send' checks it: which\nrecipients are refused and whether it must be encrypted. Keys are the\ndirectory's and, when the policy lets users add keys, the key store's.", adminPolicyCheck)),
		adminCmd("package", "build a preconfigured installer (--os linux|windows)", "Builds a preconfigured installer with the signed profile and the pinned admin\nkey baked in. Needs the securesend source (--src) and Go.\n\nLinux: a .tar.xz (needs the fyne tool: go install fyne.io/tools/cmd/fyne@v1.7.4)\nand a .deb (needs dpkg-deb and dpkg-shlibdeps; maintainer: the organisation's\nname and the admin key's e-mail address).\nWindows: a .exe (needs mingw-w64) and a per-machine MSI for Intune and Group\nPolicy (needs wixl), both signed with osslsigncode when --sign-cert is given.\nThe MSI's version is APP-VERSION's x.y and the profile serial, so a newer\nserial upgrades an installed one in place.", adminPackage),
	}}
}

// withDesk is c with the desk open when it runs (the profile in force
// and the user's security settings are the desk's).
func withDesk(c command) command {
	c.noDesk = false
	return c
}

// adminCmd is the admin command name ("profile sign"), described by desc;
// summary is its line in the list of admin commands;
// it opens a desk only when it needs one (the keychain), so that an admin
// can work without a securesend home.
func adminCmd(name, summary, desc string, flags func(fs *flag.FlagSet) runFunc) command {
	return command{name: name, summary: summary, usage: "Usage: securesend admin " + name + " [flags]\n\n" + desc + "\n", noDesk: true, flags: flags}
}

const adminUsage = "Commands for the organisation's administrator (see docs/admin.md).\n"

// adminPassphrase is where an admin key's passphrase comes from: the
// first line of stdin with --passphrase-stdin, else the home's keychain.
func adminPassphrase(e *env, fromStdin bool) (author.Passphrase, error) {
	if fromStdin {
		p, err := readSecret(e.stdin, "--passphrase-stdin")
		return author.Passphrase{Given: []byte(p)}, err
	}
	d, err := openDesk(e)
	if err != nil {
		return author.Passphrase{}, err
	}
	return author.Passphrase{Keychain: d.Keychain()}, nil
}

func adminKeyGenerate(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "organisation or admin name (required)")
	email := fs.String("email", "", "admin e-mail address (required)")
	out := fs.String("out", ".", "directory to write the key files to")
	stdinPass := fs.Bool("passphrase-stdin", false, "read the passphrase from the first line of stdin")
	force := fs.Bool("force", false, "replace existing key files")
	return func(ctx context.Context, c *call) error {
		if *name == "" || *email == "" {
			return errors.New("--name and --email are required")
		}
		pass, err := adminPassphrase(c.env, *stdinPass)
		if err != nil {
			return err
		}
		k, err := author.GenerateKey(*out, *name, *email, pass, *force)
		if err != nil {
			if errors.Is(err, author.ErrKeepPassphrase) {
				return fmt.Errorf("%w (or use --passphrase-stdin)", err)
			}
			return err
		}
		fmt.Fprintf(c.stdout, "Organisation admin key created.\n  fingerprint: %s\n  public key:  %s (goes into installers)\n  private key: %s (passphrase-protected; keep it offline and backed up)\n", k.Fingerprint, k.Public, k.Private)
		if k.InKeychain {
			fmt.Fprintln(c.stdout, "  passphrase:  kept in this computer's OS keychain")
		}
		return nil
	}
}

func adminProfileInit(fs *flag.FlagSet) runFunc {
	out := fs.String("out", "profile.toml", "file to write")
	org := fs.String("org", "Example Medical Centre", "organisation name")
	force := fs.Bool("force", false, "replace an existing file")
	return func(ctx context.Context, c *call) error {
		if err := author.WriteExample(*out, *org, *force); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Wrote %s. Edit it, add recipients, then sign it.\n", *out)
		return nil
	}
}

func adminProfileAddRecipient(fs *flag.FlagSet) runFunc {
	path := fs.String("profile", "profile.toml", "profile file")
	email := fs.String("email", "", "recipient address (required)")
	name := fs.String("name", "", "display name (required)")
	keyFile := fs.String("key", "", "armored OpenPGP public key file (required)")
	org := fs.String("org", "", "recipient organisation")
	hpiOrg := fs.String("hpi-org", "", "HPI organisation id")
	hpiFac := fs.String("hpi-facility", "", "HPI facility id")
	var relayAliases listFlag
	fs.Var(&relayAliases, "relay-alias", "short `name` by which scanners reach this recipient through 'securesend relay' (NAME@relay); repeatable")
	return func(ctx context.Context, c *call) error {
		if *email == "" || *name == "" || *keyFile == "" {
			return errors.New("--email, --name and --key are required")
		}
		key, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		p, err := author.AddRecipient(*path, profile.Recipient{
			Name: *name, Email: *email, Organisation: *org, HPIOrgID: *hpiOrg, HPIFacilityID: *hpiFac, PublicKey: string(key),
			RelayAliases: relayAliases,
		})
		if err != nil {
			return err
		}
		r := p.Recipients[len(p.Recipients)-1]
		fmt.Fprintf(c.stdout, "Added %s <%s>, key %s. The profile now has %d recipients; raise its serial and sign it again.\n", r.Name, r.Email, r.Fingerprint, len(p.Recipients))
		return nil
	}
}

func adminProfileSign(fs *flag.FlagSet) runFunc {
	path := fs.String("profile", "profile.toml", "profile file")
	keyFile := fs.String("key", "admin-key.private.asc", "private admin key file")
	out := fs.String("out", "", "signature file (default: PROFILE.sig)")
	stdinPass := fs.Bool("passphrase-stdin", false, "read the passphrase from the first line of stdin")
	return func(ctx context.Context, c *call) error {
		if *out == "" {
			*out = *path + ".sig"
		}
		pass, err := adminPassphrase(c.env, *stdinPass)
		if err != nil {
			return err
		}
		p, err := author.SignFile(*path, *keyFile, *out, pass)
		if errors.Is(err, author.ErrNoPassphrase) {
			return fmt.Errorf("%w; use --passphrase-stdin", err)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Signed %s (serial %d) -> %s\n", *path, p.Serial, *out)
		return nil
	}
}

// adminBundleFlags are the flags that name a profile bundle on disk.
type adminBundleFlags struct {
	profile, sig, key, fingerprint *string
}

func adminBundle(fs *flag.FlagSet, profileDefault string) adminBundleFlags {
	return adminBundleFlags{
		profile:     fs.String("profile", profileDefault, "profile file"),
		sig:         fs.String("sig", "", "signature file (default: PROFILE.sig)"),
		key:         fs.String("key", "admin-key.asc", "public admin key file"),
		fingerprint: fs.String("fingerprint", "", "expected admin key fingerprint (default: trust the --key file's own)"),
	}
}

// bundle is the bundle the flags name.
func (b adminBundleFlags) bundle() author.Bundle {
	return author.Bundle{Profile: *b.profile, Signature: *b.sig, Key: *b.key, Fingerprint: *b.fingerprint}
}

// source is the profile a show or check works on: a bundle with
// --profile, else the baked one with --embedded, else the one in force.
func (b adminBundleFlags) source(embedded bool) desk.ProfileSource {
	if *b.profile != "" {
		bundle := b.bundle()
		return desk.ProfileSource{Bundle: &bundle}
	}
	return desk.ProfileSource{Embedded: embedded}
}

func adminProfileVerify(fs *flag.FlagSet) runFunc {
	b := adminBundle(fs, "profile.toml")
	return func(ctx context.Context, c *call) error {
		bundle, p, err := b.bundle().Verify()
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "OK: %s is signed by %s; serial %d, %q, %d recipients\n", *b.profile, bundle.Fingerprint, p.Serial, p.Organisation.Name, len(p.Recipients))
		return nil
	}
}

// adminUserFlags are the user's own security settings as CLI flags; they
// may only tighten the organisation's policy.
func adminUserFlags(fs *flag.FlagSet) func() profile.UserSettings {
	minTLS := fs.String("min-tls", "", `user setting: minimum TLS version ("1.2" or "1.3")`)
	enc := fs.String("encryption", "", "user setting: auto, domains or always")
	var encDomains, allow listFlag
	fs.Var(&encDomains, "encrypt-domain", "user setting: also require encryption for this domain (repeatable)")
	fs.Var(&allow, "allow-domain", "user setting: only send to this domain (repeatable)")
	reqTLS := fs.Bool("require-requiretls", false, "user setting: require REQUIRETLS")
	maxMB := fs.Int("max-attachment-mb", 0, "user setting: lower attachment limit")
	return func() profile.UserSettings {
		return profile.UserSettings{MinTLS: *minTLS, Encryption: profile.Encryption(*enc), EncryptDomains: encDomains,
			AllowedRecipientDomains: allow, RequireREQUIRETLS: *reqTLS, MaxAttachmentMB: *maxMB}
	}
}

func adminProfileShow(fs *flag.FlagSet) runFunc {
	embedded := fs.Bool("embedded", false, "show only the profile baked into this binary")
	effective := fs.Bool("effective", false, "show the effective policy")
	b := adminBundle(fs, "")
	user := adminUserFlags(fs)
	return func(ctx context.Context, c *call) error {
		// the user's security.toml, then the flags
		pol, l, err := c.desk.PolicyFrom(b.source(*embedded), user())
		if err != nil {
			return err
		}
		w := c.stdout
		if !l.Managed() {
			fmt.Fprintf(w, "No organisation profile: this installation is not managed (system-wide directory: %s).\n", profile.SystemDir(runtime.GOOS, c.getenv))
		} else {
			printLines(w, desk.ProfileLines(l))
		}
		if *effective {
			printLines(w, desk.PolicyLines(pol))
		}
		return nil
	}
}

func adminPolicyCheck(fs *flag.FlagSet) runFunc {
	from := fs.String("from", "", "sender address (required)")
	var to, docs listFlag
	fs.Var(&to, "to", "recipient address (repeatable)")
	fs.Var(&docs, "doc", "document file (repeatable)")
	embedded := fs.Bool("embedded", false, "use only the profile baked into this binary")
	b := adminBundle(fs, "")
	user := adminUserFlags(fs)
	return func(ctx context.Context, c *call) error {
		m := &send.Message{}
		var err error
		if m.From, err = parseAddr("--from", *from); err != nil {
			return err
		}
		if m.To, err = parseAddrs("--to", to); err != nil {
			return err
		}
		for _, d := range docs {
			m.Documents = append(m.Documents, send.Document{Path: d})
		}
		v, err := c.desk.CheckPolicyOf(b.source(*embedded), user(), m)
		var refused *desk.Refused
		if errors.As(err, &refused) {
			printRefused(c.stderr, "refused by policy", refused)
			return exitCode(1)
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, v)
		return nil
	}
}

func adminPackage(fs *flag.FlagSet) runFunc {
	b := adminBundle(fs, "profile.toml")
	goos := fs.String("os", "linux", "target: linux or windows")
	arch := fs.String("arch", "amd64", "target architecture")
	src := fs.String("src", "", "securesend source directory (default: found from the current directory)")
	out := fs.String("out", "dist", "output directory")
	version := fs.String("app-version", "1.0.0", "application version")
	deb := fs.Bool("deb", true, "also build a .deb on Linux (when dpkg-deb is installed)")
	msi := fs.Bool("msi", true, "also build an MSI on Windows (needs wixl)")
	cert := fs.String("sign-cert", "", "Windows: Authenticode certificate (.pfx/.p12, or PEM with --sign-key)")
	certKey := fs.String("sign-key", "", "Windows: PEM private key for a PEM --sign-cert")
	certPass := fs.Bool("sign-pass-stdin", false, "Windows: read the certificate password from stdin")
	ts := fs.String("timestamp-url", "", "Windows: RFC 3161 time-stamping server")
	verbose := fs.Bool("v", false, "print the build commands and their output")
	return func(ctx context.Context, c *call) error {
		bundle, err := b.bundle().Read()
		if err != nil {
			return err
		}
		if *src == "" {
			wd, err := os.Getwd()
			if err == nil {
				*src, err = author.FindSource(wd)
			}
			if err != nil {
				return err
			}
		}
		o := packaging.Options{OS: *goos, Arch: *arch, ModuleDir: *src, OutDir: *out, Baked: bundle, Version: *version, Deb: *deb, MSI: *msi}
		if *verbose {
			o.Log = c.stderr
		}
		if *cert != "" {
			a := &packaging.Authenticode{TimestampURL: *ts}
			if *certKey != "" {
				a.CertFile, a.KeyFile = *cert, *certKey
			} else {
				a.PKCS12 = *cert
			}
			if *certPass {
				p, err := readSecret(c.stdin, "--sign-pass-stdin")
				if err != nil {
					return err
				}
				a.Password = []byte(p)
			}
			o.Authenticode = a
		}
		res, err := packaging.Build(ctx, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Built for %s/%s with %q profile serial %d, admin key %s pinned (build %s, package %s):\n",
			*goos, *arch, res.Profile.Organisation.Name, res.Profile.Serial, bundle.Fingerprint, res.BuildTime.Round(100e6), res.PackageTime.Round(100e6))
		for _, a := range res.Artifacts {
			fmt.Fprintf(c.stdout, "  %s\n    sha256 %s\n", a, res.SHA256[filepath.Base(a)])
		}
		fmt.Fprintf(c.stdout, "  %s (publish it with the downloads)\n", res.SumsFile)
		return nil
	}
}
