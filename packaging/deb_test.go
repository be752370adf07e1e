package packaging

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/profile"
)

// checkDeb checks a built .deb as Debian would: lintian reports no error
// (its warnings are logged), the control fields declare what the binary
// needs and who made it, and the manual page, desktop entry, copyright and
// changelog are where Debian's policy puts them.
func checkDeb(t *testing.T, deb string) {
	needTools(t, "lintian", "dpkg-deb")
	out, err := exec.Command("lintian", "--tag-display-limit", "0", "--display-info", deb).CombinedOutput()
	var errs []string
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "E: "):
			errs = append(errs, line)
		case line != "":
			t.Logf("lintian: %s", line)
		}
	}
	if len(errs) > 0 {
		t.Errorf("lintian errors:\n%s", strings.Join(errs, "\n"))
	}
	// What lintian said about the .deb before issue 18 (lintian 2.116 on
	// the old layout: bogus-mail-host, root-in-contact, no-changelog,
	// no-copyright-file, description-starts-with-package-name as errors),
	// and on the first versions of this one, at any level.
	for _, tag := range []string{"bogus-mail-host", "root-in-contact", "no-changelog", "description-starts-with-package-name",
		"undeclared-elf-prerequisites", "missing-dependency-on-libc", "no-copyright-file",
		"copyright-without-copyright-notice", "debian-changelog-file-missing-or-wrong-name", "wrong-name-for-changelog-of-native-package",
		"debian-changelog-line-too-long", "mail-address-loops-or-bounces", "hardening-no-pie", "hardening-no-bindnow",
		"no-manual-page", "unstripped-binary-or-object"} {
		if strings.Contains(string(out), " "+tag) {
			t.Errorf("lintian still reports %s", tag)
		}
	}
	if err != nil && len(errs) == 0 {
		t.Errorf("lintian: %v\n%s", err, out)
	}

	field := func(name string) string {
		t.Helper()
		v, err := exec.Command("dpkg-deb", "--field", deb, name).Output()
		if err != nil {
			t.Fatalf("dpkg-deb --field %s: %v", name, err)
		}
		return strings.TrimSpace(string(v))
	}
	if m := field("Maintainer"); m != "Kowhai Medical Centre <admin@kowhai.example.nz>" {
		t.Errorf("Maintainer %q", m)
	}
	if v := field("Version"); v != "1.0.0-profile3" {
		t.Errorf("Version %q", v)
	}
	dep := field("Depends")
	for _, pkg := range []string{"libc6", "libgl1", "libx11-6"} {
		if !regexp.MustCompile(`(^|, )` + regexp.QuoteMeta(pkg) + `( |,|$)`).MatchString(dep) {
			t.Errorf("Depends %q lacks %s (the binary links it)", dep, pkg)
		}
	}
	if r := field("Recommends"); !strings.Contains(r, "gnome-keyring") || !strings.Contains(r, "poppler-utils") {
		t.Errorf("Recommends %q", r)
	}

	root := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-x", deb, root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
	}
	for _, f := range []string{"usr/bin/securesend", "usr/share/doc/securesend/copyright", "usr/share/doc/securesend/changelog.Debian.gz",
		"usr/share/man/man1/securesend.1.gz", "usr/share/icons/hicolor/256x256/apps/nz.securesend.app.png",
		"usr/lib/systemd/system/securesend-relay.service", "usr/lib/sysusers.d/securesend.conf"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("the .deb lacks /%s", f)
		}
	}
	// The relay's unit is the one in the repository, runs the installed
	// binary as the user the sysusers.d file declares, and (where
	// systemd-analyze exists) is a valid unit.
	unit := filepath.Join(root, "usr/lib/systemd/system/securesend-relay.service")
	if got, want := read(t, unit), read(t, "linux/securesend-relay.service"); !bytes.Equal(got, want) {
		t.Errorf("the .deb's relay unit differs from packaging/linux/securesend-relay.service")
	}
	if u := string(read(t, unit)); !strings.Contains(u, "\nExecStart=/usr/bin/securesend relay ") || !strings.Contains(u, "\nUser=securesend\n") {
		t.Errorf("relay unit:\n%s", u)
	}
	if su := string(read(t, filepath.Join(root, "usr/lib/sysusers.d/securesend.conf"))); !strings.Contains(su, "\nu securesend - ") {
		t.Errorf("sysusers.d:\n%s", su)
	}
	desktop := string(read(t, filepath.Join(root, "usr/share/applications/nz.securesend.app.desktop")))
	if !strings.Contains(desktop, "\nMimeType=message/rfc822;\n") || !strings.Contains(desktop, "\nExec=securesend %f\n") {
		t.Errorf("desktop entry does not open .eml files:\n%s", desktop)
	}

	// The manual page renders without a warning and documents every
	// command with its flags.
	if _, err := exec.LookPath("man"); err == nil {
		cmd := exec.Command("man", "--warnings", "-E", "UTF-8", "-l", filepath.Join(root, "usr/share/man/man1/securesend.1.gz"))
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "LANG=C.UTF-8")
		page, err := cmd.Output()
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		if err != nil || stderr != "" {
			t.Errorf("man: %v\n%s", err, stderr)
		}
		text := string(page)
		for _, want := range []string{"securesend verify", "--extract-unverified", "securesend admin package", "--sign-cert", "securesend admin key generate", "securesend keys", "SECURESEND_HOME", "FILE.eml"} {
			if !strings.Contains(text, want) {
				t.Errorf("manual page lacks %q", want)
			}
		}
	}
}

func TestListedCommands(t *testing.T) {
	for _, c := range []struct {
		name, help string
		want       []string
	}{
		{"top level", "Usage: securesend [command]\n\nCommands:\n  account    manage accounts\n  admin      organisation admin\n\nRun 'securesend COMMAND --help'.\n", []string{"account", "admin"}},
		{"two-word commands", "Commands for the admin (see docs):\n  key generate          create\n  profile init          write\n", []string{"key generate", "profile init"}},
		{"not a command list", "Examples:\n  securesend send --to x\n", nil},
		{"admin", "Usage: securesend admin COMMAND\n\nCommands:\n  key generate          create the key\n  profile show          show\n  package               build\n", []string{"key generate", "profile show", "package"}},
		{"args and continuation lines", "Commands:\n  generate --name NAME   create your key\n  export [FINGERPRINT | ADDRESS]   print\n                                   (for an ADDRESS, the keys)\n  import FILE [--pin]\n  import --secret FILE\n", []string{"generate", "export", "import"}},
		{"subcommands", "Subcommands:\n  fetch [--account NAME]   download\n  show ID                  show an item\n\n  later  not listed\n", []string{"fetch", "show"}},
	} {
		got := listedCommands(c.help)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestTroffLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"--help", `\-\-help`},
		{".TH injected", `\&.TH injected`},
		{"'quoted", `\&'quoted`},
		{`C:\ProgramData`, `C:\eProgramData`},
		{"Verified — signed…", `Verified \[u2014] signed\[u2026]`},
		{"bell\x07 and \x1b[31mred", "bell and [31mred"},
	} {
		if got := troffLine(c.in); got != c.want {
			t.Errorf("troffLine(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMaintainer(t *testing.T) {
	p := &profile.Profile{Organisation: profile.Organisation{Name: "Kowhai <Medical>, \"Centre\"\n"}}
	name, email := maintainer(p, read(t, fixtures+"admin_TEST_ONLY.asc"))
	if name != "Kowhai Medical Centre" || email != "admin@kowhai.example.nz" {
		t.Errorf("maintainer = %q, %q", name, email)
	}
	if _, email := maintainer(p, []byte("not a key")); email != "" {
		t.Errorf("maintainer e-mail %q from no key", email)
	}
}

func TestDebChangelogWraps(t *testing.T) {
	p := &profile.Profile{Serial: 12, Organisation: profile.Organisation{Name: "Te Whatu Ora Waitaha Canterbury Community Pharmacy Group Limited Partnership"}}
	got := string(debChangelog(DebVersion("1.2.0", 12), "X <x@example.nz>", p, "023E9AE35D01D9B17FB67C5F5427B0002CF8988F", time.Unix(0, 0).UTC()))
	for i, line := range strings.Split(got, "\n") {
		if len(line) > 80 {
			t.Errorf("line %d longer than 80: %q", i+1, line)
		}
	}
	if !strings.HasPrefix(got, "securesend (1.2.0-profile12) unstable; urgency=medium\n\n  * Preconfigured build for Te Whatu Ora") ||
		!strings.HasSuffix(got, " 023E9AE35D01D9B17FB67C5F5427B0002CF8988F.\n\n -- X <x@example.nz>  Thu, 01 Jan 1970 00:00:00 +0000\n") {
		t.Errorf("changelog:\n%s", got)
	}
}
