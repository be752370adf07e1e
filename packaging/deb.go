package packaging

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"debug/buildinfo"
	_ "embed" // the relay's systemd unit
	"encoding/hex"
	"fmt"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/securesend/securesend/profile"
)

// debRecommends are what the app uses when present: a Secret Service
// provider for the keychain, and pdftoppm for PDF thumbnails.
const debRecommends = "gnome-keyring, poppler-utils"

// debFile is one file of the package tree.
type debFile struct {
	path string // relative to the package root
	data []byte
	mode os.FileMode
}

// relayUnit is the systemd unit of 'securesend relay'.
//
//go:embed linux/securesend-relay.service
var relayUnit []byte

// relaySysusers declares the system user the relay runs as.
//
//go:embed linux/securesend.sysusers
var relaySysusers []byte

// buildDeb builds a .deb installing the binary in /usr/bin with its manual
// page, a desktop entry that opens .eml files (message/rfc822), the icon,
// and Debian's copyright and changelog. Depends is computed from the
// binary's ELF dependencies with dpkg-shlibdeps. man is the manual page
// (troff).
func buildDeb(ctx context.Context, o Options, p *profile.Profile, tmp, exe, man, base string) (string, error) {
	if _, err := exec.LookPath("dpkg-shlibdeps"); err != nil {
		return "", fmt.Errorf("packaging: the .deb's dependencies are computed with dpkg-shlibdeps, which is not installed (on Debian: apt-get install dpkg-dev): %w", err)
	}
	arch := map[string]string{"amd64": "amd64", "arm64": "arm64"}[o.Arch]
	if arch == "" {
		return "", fmt.Errorf("packaging: no .deb for %s", o.Arch)
	}
	// dpkg-shlibdeps wants a source tree: debian/control, and the package
	// being built in debian/PACKAGE.
	src := filepath.Join(tmp, "debsrc")
	root := filepath.Join(src, "debian", "securesend")
	icon, err := os.ReadFile(o.Icon)
	if err != nil {
		return "", fmt.Errorf("packaging: icon: %w", err)
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		return "", fmt.Errorf("packaging: %w", err)
	}
	name, email := maintainer(p, o.Baked.AdminKey)
	if email == "" {
		return "", fmt.Errorf("packaging: the .deb needs a maintainer e-mail address, taken from the pinned admin key's user ID, which has none; make the admin key with 'securesend admin key generate --email'")
	}
	maint := fmt.Sprintf("%s <%s>", name, email)
	version := DebVersion(o.Version, p.Serial)
	when := buildTime()
	doc := "usr/share/doc/securesend/"
	changelog, err := gzipN(debChangelog(version, maint, p, o.Baked.Fingerprint, when))
	if err != nil {
		return "", err
	}
	files := []debFile{
		{"usr/bin/securesend", bin, 0o755},
		{"usr/share/man/man1/securesend.1.gz", nil, 0o644},
		{"usr/share/applications/" + o.AppID + ".desktop", desktopEntry(o.AppID), 0o644},
		{"usr/share/icons/hicolor/256x256/apps/" + o.AppID + ".png", icon, 0o644},
		{doc + "copyright", debCopyright(p, exe), 0o644},
		{doc + "changelog.Debian.gz", changelog, 0o644},
		// The relay's service (enabled by the admin once its home is set
		// up; docs/relay.md) and the system user it runs as.
		{"usr/lib/systemd/system/securesend-relay.service", relayUnit, 0o644},
		{"usr/lib/sysusers.d/securesend.conf", relaySysusers, 0o644},
	}
	if files[1].data, err = gzipN([]byte(man)); err != nil {
		return "", err
	}
	for _, f := range files {
		if err := writeTreeFile(root, f); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(src, "debian", "control"), []byte("Source: securesend\n\nPackage: securesend\nArchitecture: any\n"), 0o644); err != nil {
		return "", fmt.Errorf("packaging: %w", err)
	}
	depends, err := shlibDepends(ctx, o, src)
	if err != nil {
		return "", err
	}
	var sums bytes.Buffer
	var size int64
	for _, f := range files {
		sum := md5.Sum(f.data)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), f.path)
		size += (int64(len(f.data)) + 1023) / 1024
	}
	control := fmt.Sprintf(`Package: securesend
Version: %s
Architecture: %s
Maintainer: %s
Installed-Size: %d
Depends: %s
Recommends: %s
Section: mail
Priority: optional
Homepage: https://github.com/securesend/securesend
Description: signed and encrypted e-mail of health documents
 Sends scanned health documents over TLS-enforced, OpenPGP-signed and
 encrypted e-mail (PGP/MIME), and verifies what it receives: a message is
 shown as verified only when a good signature from the sender's pinned key
 covers it. It replaces fax between New Zealand practices and pharmacies.
 .
 This build is preconfigured for %s: it carries the
 organisation's signed profile (serial %d) and pins its admin key.
`, version, arch, maint, size, depends, debRecommends, controlText(p.Organisation.Name), p.Serial)
	for _, f := range []debFile{{"DEBIAN/control", []byte(control), 0o644}, {"DEBIAN/md5sums", sums.Bytes(), 0o644}} {
		if err := writeTreeFile(root, f); err != nil {
			return "", err
		}
	}
	out := filepath.Join(o.OutDir, base+".deb")
	if err := run(ctx, o.Log, tmp, nil, "dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root, out); err != nil {
		return "", err
	}
	return out, nil
}

// writeTreeFile writes f under root with directories 0755 (dpkg-deb keeps
// the modes) and the file's own mode regardless of the umask.
func writeTreeFile(root string, f debFile) error {
	p := filepath.Join(root, filepath.FromSlash(f.path))
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("packaging: %w", err)
	}
	for d := dir; d != root && strings.HasPrefix(d, root); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			return fmt.Errorf("packaging: %w", err)
		}
	}
	if err := os.WriteFile(p, f.data, f.mode); err != nil {
		return fmt.Errorf("packaging: %w", err)
	}
	return os.Chmod(p, f.mode)
}

// shlibDepends runs dpkg-shlibdeps on the staged binary and returns the
// Depends it computed from the ELF's NEEDED libraries.
func shlibDepends(ctx context.Context, o Options, src string) (string, error) {
	var out bytes.Buffer
	fmt.Fprintln(o.Log, "$ dpkg-shlibdeps -O -edebian/securesend/usr/bin/securesend")
	cmd := exec.CommandContext(ctx, "dpkg-shlibdeps", "-O", "-edebian/securesend/usr/bin/securesend")
	cmd.Dir, cmd.Stdout, cmd.Stderr = src, &out, o.Log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("packaging: dpkg-shlibdeps could not work out the binary's library packages (are the libraries it links installed from Debian packages?): %w", err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "shlibs:Depends="); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("packaging: dpkg-shlibdeps found no library dependencies in the binary (%q); the .deb would not declare what it needs", strings.TrimSpace(out.String()))
}

// maintainer returns the package maintainer: the organisation's name and
// the e-mail address of the pinned admin key's primary user ID ("" when
// the key has none). Characters that would break a control field or a
// mail address are dropped.
func maintainer(p *profile.Profile, adminKey []byte) (name, email string) {
	name = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) || strings.ContainsRune("<>,\"\\", r) {
			return -1
		}
		return r
	}, p.Organisation.Name)
	name = strings.TrimSpace(name)
	if name == "" {
		name = "securesend"
	}
	keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(adminKey))
	if err != nil || len(keys) == 0 {
		return name, ""
	}
	id := keys[0].PrimaryIdentity()
	if id == nil || id.UserId == nil {
		return name, ""
	}
	a, err := mail.ParseAddress("<" + id.UserId.Email + ">")
	if err != nil || strings.ContainsAny(a.Address, "<>,\" \n") {
		return name, ""
	}
	return name, a.Address
}

// controlText makes s safe inside a control-file description line.
func controlText(s string) string {
	return strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
}

// desktopEntry is the freedesktop.org entry: the app in the menu, and the
// handler offered for .eml files (message/rfc822), which "securesend FILE"
// opens in the verify view.
func desktopEntry(appID string) []byte {
	return fmt.Appendf(nil, `[Desktop Entry]
Type=Application
Name=securesend
GenericName=Secure document mail
Comment=Send and verify signed, encrypted health documents
Exec=securesend %%f
Icon=%s
Terminal=false
Categories=Office;Network;Email;
MimeType=message/rfc822;
Keywords=fax;PGP;OpenPGP;pharmacy;prescription;
StartupWMClass=securesend
`, appID)
}

// DebVersion is the .deb's version: the app version as the upstream
// version and the profile serial as the Debian revision ("1.0.0-profile3"),
// so that a newer serial or a newer app version upgrades, and the package
// is not a Debian-native one (its changelog is changelog.Debian.gz).
func DebVersion(appVersion string, serial int64) string {
	return fmt.Sprintf("%s-profile%d", appVersion, serial)
}

// debChangelog is the one-entry Debian changelog of this build.
func debChangelog(version, maint string, p *profile.Profile, fpr string, when time.Time) []byte {
	entry := fmt.Sprintf("Preconfigured build for %s: organisation profile serial %d, signed by the pinned admin key %s.", controlText(p.Organisation.Name), p.Serial, fpr)
	return fmt.Appendf(nil, "securesend (%s) unstable; urgency=medium\n\n%s -- %s  %s\n",
		version, wrapText(entry, "  * ", "    ", 78), maint, when.Format(time.RFC1123Z))
}

// wrapText wraps s at width columns, starting with first and continuing
// with rest, and ends with a line break.
func wrapText(s, first, rest string, width int) string {
	var b strings.Builder
	line := first
	for _, w := range strings.Fields(s) {
		if len(line) > len(rest) && len(line)+1+len(w) > width {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = rest
		}
		if line != first && line != rest {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n\n")
	return b.String()
}

// debCopyright is the machine-readable copyright file. securesend declares
// no licence yet, so the file says so rather than inventing one, and lists
// the Go modules linked into the binary. The year is that of the source's
// last commit (from the binary's build information), or of the build.
func debCopyright(p *profile.Profile, exe string) []byte {
	info, err := buildinfo.ReadFile(exe)
	year := buildTime().Year()
	if err == nil {
		for _, s := range info.Settings {
			if t, perr := time.Parse(time.RFC3339, s.Value); s.Key == "vcs.time" && perr == nil {
				year = t.Year()
			}
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: securesend
Source: https://github.com/securesend/securesend
Comment: Built and distributed by %s for its own staff.

Files: *
Copyright: %d The securesend authors
License: other
 The securesend source declares no licence. This build is distributed by
 %s to its staff only; ask its administrator for the terms.
`, controlText(p.Organisation.Name), year, controlText(p.Organisation.Name))
	if err == nil && len(info.Deps) > 0 {
		var mods []string
		for _, d := range info.Deps {
			mods = append(mods, " "+d.Path+" "+d.Version)
		}
		sort.Strings(mods)
		fmt.Fprintf(&b, "\nFiles: usr/bin/securesend\nCopyright: %d The securesend authors and the authors of the Go modules below\nLicense: other\n The binary links %s and these Go modules; each is under the licence in\n its own source at the version listed:\n%s\n", year, info.GoVersion, strings.Join(mods, "\n"))
	}
	return b.Bytes()
}

// buildTime is $SOURCE_DATE_EPOCH (reproducible builds) or now.
func buildTime() time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	return time.Now().UTC()
}

// gzipN compresses data at the best level without a name or time stamp in
// the header, as Debian policy asks for documentation.
func gzipN(data []byte) ([]byte, error) {
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
