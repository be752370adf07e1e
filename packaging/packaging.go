// Package packaging builds preconfigured securesend installers: the
// organisation's signed profile and pinned admin key are baked into the
// binary (go build -overlay adds them to cmd/securesend/baked for that one
// build; the source tree is never modified), then the binary is packaged:
//
//   - linux: a position-independent binary, packed in a .tar.xz made by
//     the fyne packaging tool (binary, .desktop file, icon, Makefile for
//     "make install") and, when dpkg-deb is available, a .deb to Debian's
//     standard (declared dependencies, manual page, copyright, changelog;
//     lintian-clean) that registers the app for .eml files;
//   - windows: a .exe cross-compiled with mingw-w64 and a per-machine MSI
//     built with wixl (msitools) for Intune and Group Policy, which installs
//     the .exe in Program Files, the signed profile and admin key in
//     %ProgramData%\securesend, a Start-menu shortcut and the .eml file
//     type; both Authenticode-signed with osslsigncode when a certificate is
//     given.
//
// It refuses to package a profile that does not verify against the admin key
// being pinned, so a broken or tampered profile never reaches staff.
package packaging

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/securesend/securesend/profile"
)

// Options says what to build. The zero values of the optional fields are
// safe defaults.
type Options struct {
	// OS is "linux" or "windows".
	OS string
	// Arch is the GOARCH; "amd64" when empty.
	Arch string
	// ModuleDir is the root of the securesend source (holding go.mod).
	ModuleDir string
	// OutDir receives the artifacts; created if missing.
	OutDir string
	// Baked is the signed profile and the admin key to pin. It must verify.
	Baked profile.Baked
	// AppID is the reverse-DNS application id; "nz.securesend.app" when
	// empty.
	AppID string
	// Version is the app version (x.y.z); "1.0.0" when empty. The build
	// number is the profile's serial.
	Version string
	// Icon is a PNG; ModuleDir/packaging/Icon.png when empty.
	Icon string
	// Authenticode, when set, signs the Windows .exe.
	Authenticode *Authenticode
	// Fyne is the fyne packaging tool; looked up in PATH and GOBIN/GOPATH
	// when empty.
	Fyne string
	// Deb also builds a .deb on Linux when dpkg-deb is available.
	Deb bool
	// MSI also builds an MSI on Windows (needs wixl).
	MSI bool
	// Log receives the commands run and their output; discarded when nil.
	Log io.Writer
	// KeepBuildPaths builds without -trimpath. Release builds trim the build
	// machine's paths from the binary; but -trimpath gives every package a
	// different build-cache key, so with the Fyne GUI linked a -trimpath
	// build recompiles everything (measured: 5 min 16 s cold for a Fyne
	// hello-world on the shared 2-core CI box, against 8 s reusing the
	// cache of ordinary builds). Tests set it to reuse that cache.
	KeepBuildPaths bool
}

// Authenticode is a code-signing certificate for osslsigncode.
type Authenticode struct {
	// PKCS12 is a .pfx/.p12 file with certificate and key, or
	// CertFile and KeyFile are PEM files (one of the two forms).
	PKCS12, CertFile, KeyFile string
	// Password unlocks the key; it is handed to osslsigncode in a private
	// temporary file, never on the command line.
	Password []byte
	// TimestampURL is an RFC 3161 time-stamping server (optional; needs
	// network access).
	TimestampURL string
}

// Result describes what was built.
type Result struct {
	// Artifacts are the files written to OutDir.
	Artifacts []string
	// SHA256 maps each artifact's base name to its hex SHA-256.
	SHA256 map[string]string
	// SumsFile lists the artifacts' SHA-256 sums in sha256sum format.
	SumsFile string
	// Profile is the verified profile that was baked in.
	Profile *profile.Profile
	// BuildTime is the go build time, PackageTime the rest.
	BuildTime, PackageTime time.Duration
}

// Build produces the installer for o.OS.
func Build(ctx context.Context, o Options) (*Result, error) {
	if o.OS != "linux" && o.OS != "windows" {
		return nil, fmt.Errorf("packaging: --os %q: only linux and windows can be built here (macOS needs a Mac, see docs/admin.md)", o.OS)
	}
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	if o.AppID == "" {
		o.AppID = "nz.securesend.app"
	}
	if o.Version == "" {
		o.Version = "1.0.0"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	p, err := profile.Verify(o.Baked.Profile, o.Baked.Signature, o.Baked.AdminKey, o.Baked.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("packaging: the profile does not verify against the admin key to pin: %w", err)
	}
	mod, err := filepath.Abs(o.ModuleDir)
	if err != nil {
		return nil, err
	}
	if o.Icon == "" {
		o.Icon = filepath.Join(mod, "packaging", "Icon.png")
	}
	if o.Icon, err = filepath.Abs(o.Icon); err != nil {
		return nil, err
	}
	if o.OutDir, err = filepath.Abs(o.OutDir); err != nil {
		return nil, err
	}
	if a := o.Authenticode; a != nil {
		for _, f := range []*string{&a.PKCS12, &a.CertFile, &a.KeyFile} {
			if *f != "" {
				if *f, err = filepath.Abs(*f); err != nil {
					return nil, err
				}
			}
		}
	}
	if _, err := os.Stat(filepath.Join(mod, "cmd", "securesend", "baked")); err != nil {
		return nil, fmt.Errorf("packaging: %s is not the securesend source (no cmd/securesend/baked): %w", mod, err)
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("packaging: %w", err)
	}
	tmp, err := os.MkdirTemp("", "securesend-package-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	overlay, err := writeOverlay(tmp, filepath.Join(mod, "cmd", "securesend", "baked"), o.Baked)
	if err != nil {
		return nil, err
	}
	exe := filepath.Join(tmp, "securesend")
	if o.OS == "windows" {
		exe += ".exe"
	}
	res := &Result{Profile: p, SHA256: map[string]string{}}
	start := time.Now()
	if err := goBuild(ctx, o, mod, overlay, exe); err != nil {
		return nil, err
	}
	res.BuildTime = time.Since(start)
	start = time.Now()
	base := fmt.Sprintf("securesend-%s-%d-%s-%s", slug(p.Organisation.Name), p.Serial, o.OS, o.Arch)
	var arts []string
	switch o.OS {
	case "linux":
		arts, err = packageLinux(ctx, o, p, tmp, exe, base)
	case "windows":
		arts, err = packageWindows(ctx, o, p, tmp, exe, base)
	}
	if err != nil {
		return nil, err
	}
	res.PackageTime = time.Since(start)
	var sums strings.Builder
	for _, a := range arts {
		sum, err := fileSHA256(a)
		if err != nil {
			return nil, err
		}
		res.Artifacts = append(res.Artifacts, a)
		res.SHA256[filepath.Base(a)] = sum
		fmt.Fprintf(&sums, "%s  %s\n", sum, filepath.Base(a))
	}
	// base.sha256 in sha256sum format, to publish with the downloads
	// ("sha256sum -c" checks it).
	sumFile := filepath.Join(o.OutDir, base+".sha256")
	if err := os.WriteFile(sumFile, []byte(sums.String()), 0o644); err != nil {
		return nil, fmt.Errorf("packaging: %w", err)
	}
	res.SumsFile = sumFile
	return res, nil
}

// writeOverlay writes the baked files into tmp and a go build -overlay file
// that adds them to bakedDir.
func writeOverlay(tmp, bakedDir string, b profile.Baked) (string, error) {
	files := map[string][]byte{
		profile.FingerprintFile: []byte(b.Fingerprint + "\n"),
		profile.AdminKeyFile:    b.AdminKey,
		profile.ProfileFile:     b.Profile,
		profile.SignatureFile:   b.Signature,
	}
	repl := map[string]string{}
	for name, data := range files {
		p := filepath.Join(tmp, "baked-"+name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return "", fmt.Errorf("packaging: %w", err)
		}
		repl[filepath.Join(bakedDir, name)] = p
	}
	js, err := json.Marshal(map[string]any{"Replace": repl})
	if err != nil {
		return "", err
	}
	ov := filepath.Join(tmp, "overlay.json")
	return ov, os.WriteFile(ov, js, 0o644)
}

func goBuild(ctx context.Context, o Options, mod, overlay, exe string) error {
	ldflags := "-s -w"
	env := append(os.Environ(), "GOOS="+o.OS, "GOARCH="+o.Arch, "CGO_ENABLED=1")
	if o.OS == "windows" {
		ldflags += " -H windowsgui"
		cc := "x86_64-w64-mingw32-gcc"
		if o.Arch != "amd64" {
			return fmt.Errorf("packaging: windows/%s: only amd64 is cross-compiled here", o.Arch)
		}
		if _, err := exec.LookPath(cc); err != nil {
			return fmt.Errorf("packaging: the Windows build needs the mingw-w64 cross-compiler (%s; on Debian: apt-get install gcc-mingw-w64-x86-64): %w", cc, err)
		}
		env = append(env, "CC="+cc)
	} else if o.OS != runtime.GOOS || o.Arch != runtime.GOARCH {
		env = append(env, "CGO_ENABLED=0")
	}
	// no_emoji: Fyne's bundled emoji font costs ~16 MB of idle RSS (see
	// bench/gui-startup); the app's own text needs none.
	args := []string{"build", "-tags", "no_emoji", "-overlay", overlay, "-ldflags", ldflags, "-o", exe}
	if o.OS == "linux" {
		// Position-independent, so that ASLR covers the binary too, and
		// relocations read-only once resolved at start (Debian's
		// hardening; lintian reports a non-PIE executable).
		args = append(args, "-buildmode=pie")
		args[slices.Index(args, "-ldflags")+1] += " -extldflags=-Wl,-z,relro,-z,now"
	}
	if !o.KeepBuildPaths {
		args = append(args, "-trimpath")
	}
	return run(ctx, o.Log, mod, env, "go", append(args, "./cmd/securesend")...)
}

func packageLinux(ctx context.Context, o Options, p *profile.Profile, tmp, exe, base string) ([]string, error) {
	serial := p.Serial
	fyne, err := fyneTool(o.Fyne)
	if err != nil {
		return nil, err
	}
	work := filepath.Join(tmp, "pkg")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	// fyne package reads the desktop entry's details from FyneApp.toml in
	// --src, which must also hold Go code; the binary itself is the one
	// built above (--exe). A staging folder carries both, so the source
	// tree is not touched.
	src := filepath.Join(tmp, "fyne-src", "securesend")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return nil, err
	}
	for name, data := range map[string]string{
		"main.go":      "// Package main stands in for the prebuilt binary that fyne package is given with --exe.\npackage main\n",
		"FyneApp.toml": fyneMetadata,
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o644); err != nil {
			return nil, fmt.Errorf("packaging: %w", err)
		}
	}
	err = run(ctx, o.Log, work, nil, fyne, "package", "--os", "linux",
		"--src", src, "--exe", exe,
		"--name", "securesend", "--icon", o.Icon, "--app-id", o.AppID,
		"--app-version", o.Version, "--app-build", strconv.FormatInt(serial, 10), "--release")
	if err != nil {
		return nil, err
	}
	out := filepath.Join(o.OutDir, base+".tar.xz")
	if err := moveFile(filepath.Join(work, "securesend.tar.xz"), out); err != nil {
		return nil, err
	}
	arts := []string{out}
	if _, err := exec.LookPath("dpkg-deb"); o.Deb && err != nil {
		fmt.Fprintln(o.Log, "dpkg-deb not installed: no .deb built")
	} else if o.Deb {
		if o.Arch != runtime.GOARCH {
			return nil, fmt.Errorf("packaging: the .deb's manual page is made by running the binary, which cannot run here (linux/%s on %s); build the .deb on a %s machine, or pass --deb=false", o.Arch, runtime.GOARCH, o.Arch)
		}
		pages, err := collectHelp(ctx, exe, tmp)
		if err != nil {
			return nil, err
		}
		man := manPage(pages, o.Version, buildTime())
		deb, err := buildDeb(ctx, o, p, tmp, exe, man, base)
		if err != nil {
			return nil, err
		}
		arts = append(arts, deb)
	}
	return arts, nil
}

// fyneMetadata is the FyneApp.toml for fyne package's desktop entry: the
// same details as the .deb's (desktopEntry), and the app offered for
// received messages, which "securesend FILE.eml" opens in the Inbox.
const fyneMetadata = `[LinuxAndBSD]
GenericName = "Secure document mail"
Comment = "Send and verify signed, encrypted health documents"
Categories = ["Office", "Network", "Email"]
Keywords = ["fax", "PGP", "OpenPGP", "pharmacy", "prescription"]

[CanOpen]
MimeTypes = "message/rfc822"
`

// fyneTool finds the fyne packaging command.
func fyneTool(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if p, err := exec.LookPath("fyne"); err == nil {
		return p, nil
	}
	for _, dir := range []string{os.Getenv("GOBIN"), filepath.Join(goPath(), "bin")} {
		if dir == "" {
			continue
		}
		if p := filepath.Join(dir, "fyne"); isFile(p) {
			return p, nil
		}
	}
	return "", errors.New("packaging: the fyne packaging tool is not installed; run: go install fyne.io/tools/cmd/fyne@v1.7.4")
}

func goPath() string {
	if p := os.Getenv("GOPATH"); p != "" {
		return strings.Split(p, string(os.PathListSeparator))[0]
	}
	h, _ := os.UserHomeDir()
	return filepath.Join(h, "go")
}

func packageWindows(ctx context.Context, o Options, p *profile.Profile, tmp, exe, base string) ([]string, error) {
	out := filepath.Join(o.OutDir, base+".exe")
	if o.Authenticode != nil {
		signed := exe + ".signed"
		if err := authenticodeSign(ctx, o, tmp, exe, signed); err != nil {
			return nil, err
		}
		// The MSI installs the signed .exe under its own name.
		if err := os.Rename(signed, exe); err != nil {
			return nil, fmt.Errorf("packaging: %w", err)
		}
	}
	arts := []string{out}
	if o.MSI {
		msi := filepath.Join(tmp, "securesend.msi")
		if err := buildMSI(ctx, o, p, filepath.Join(tmp, "msi"), exe, msi); err != nil {
			return nil, err
		}
		if o.Authenticode != nil {
			if err := authenticodeSign(ctx, o, tmp, msi, msi+".signed"); err != nil {
				return nil, err
			}
			msi += ".signed"
		}
		msiOut := filepath.Join(o.OutDir, base+".msi")
		if err := moveFile(msi, msiOut); err != nil {
			return nil, err
		}
		arts = append(arts, msiOut)
	}
	if err := moveFile(exe, out); err != nil {
		return nil, err
	}
	return arts, nil
}

// authenticodeSign signs in (a PE file or an MSI) into out with
// osslsigncode.
func authenticodeSign(ctx context.Context, o Options, tmp, in, out string) error {
	a := o.Authenticode
	args := []string{"sign", "-h", "sha256", "-n", "securesend", "-i", "https://securesend.nz"}
	switch {
	case a.PKCS12 != "":
		args = append(args, "-pkcs12", a.PKCS12)
	case a.CertFile != "" && a.KeyFile != "":
		args = append(args, "-certs", a.CertFile, "-key", a.KeyFile)
	default:
		return errors.New("packaging: Authenticode signing needs a .pfx (--sign-cert) or a PEM certificate and key")
	}
	if len(a.Password) > 0 {
		pf := filepath.Join(tmp, "sign-pass")
		if err := os.WriteFile(pf, a.Password, 0o600); err != nil {
			return err
		}
		defer os.Remove(pf)
		args = append(args, "-readpass", pf)
	}
	if a.TimestampURL != "" {
		args = append(args, "-ts", a.TimestampURL)
	}
	args = append(args, "-in", in, "-out", out)
	if err := run(ctx, o.Log, tmp, nil, "osslsigncode", args...); err != nil {
		return fmt.Errorf("packaging: Authenticode signing of %s failed: %w", filepath.Base(in), err)
	}
	return nil
}

// run runs name with args in dir, logging the command line and its output.
// env nil means the current environment.
func run(ctx context.Context, log io.Writer, dir string, env []string, name string, args ...string) error {
	fmt.Fprintf(log, "$ %s %s\n", name, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	log.Write(out)
	if err != nil {
		tail := strings.TrimSpace(string(out))
		if len(tail) > 2000 {
			tail = "..." + tail[len(tail)-2000:]
		}
		return fmt.Errorf("packaging: %s: %w\n%s", name, err, tail)
	}
	return nil
}

// slug makes an organisation name safe for a file name.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if out == "" {
		return "org"
	}
	if len(out) > 40 {
		out = strings.TrimSuffix(out[:40], "-")
	}
	return out
}

func moveFile(from, to string) error {
	if err := os.Rename(from, to); err == nil {
		return nil
	}
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("packaging: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return fmt.Errorf("packaging: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("packaging: %w", err)
	}
	return out.Close()
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
