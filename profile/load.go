package profile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// File names of a profile bundle, both in the system-wide directory and in
// the directory baked into the binary.
const (
	ProfileFile     = "profile.toml"
	SignatureFile   = "profile.toml.sig"
	AdminKeyFile    = "admin-key.asc"
	FingerprintFile = "admin-key.fingerprint"
)

// SystemDirEnv overrides the system-wide profile directory (tests, portable
// installs). It cannot weaken anything: a profile found there must still be
// signed by the pinned key and not older than one already seen.
const SystemDirEnv = "SECURESEND_SYSTEM_DIR"

// SystemDir returns the system-wide profile directory for goos:
// /etc/securesend, %ProgramData%\securesend or
// /Library/Application Support/securesend. $SECURESEND_SYSTEM_DIR wins when
// set.
func SystemDir(goos string, getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv(SystemDirEnv); d != "" {
		return d
	}
	switch goos {
	case "windows":
		pd := getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return pd + `\securesend`
	case "darwin":
		return "/Library/Application Support/securesend"
	default:
		return "/etc/securesend"
	}
}

// Baked is what an installer build bakes into the binary: the pinned admin
// key (fingerprint and public key) and, usually, a signed profile. The zero
// value is an unconfigured build.
type Baked struct {
	// Fingerprint pins the organisation admin key.
	Fingerprint string
	// AdminKey is the armored public admin key.
	AdminKey []byte
	// Profile and Signature are the baked profile; empty when only the key
	// is pinned (profile installed system-wide).
	Profile, Signature []byte
}

// BakedFromFS reads a Baked from the files named above at the root of fsys.
// Missing files leave fields empty; an empty fsys is an unconfigured build.
func BakedFromFS(fsys fs.FS) (Baked, error) {
	var b Baked
	for name, dst := range map[string]*[]byte{ProfileFile: &b.Profile, SignatureFile: &b.Signature, AdminKeyFile: &b.AdminKey} {
		data, err := fs.ReadFile(fsys, name)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Baked{}, fmt.Errorf("profile: baked %s: %w", name, err)
		}
		*dst = data
	}
	fp, err := fs.ReadFile(fsys, FingerprintFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Baked{}, fmt.Errorf("profile: baked %s: %w", FingerprintFile, err)
	}
	b.Fingerprint = NormalizeFingerprint(strings.TrimSpace(string(fp)))
	return b, nil
}

// Configured reports whether the build pins an organisation key.
func (b Baked) Configured() bool { return b.Fingerprint != "" }

// LoadOptions says where Load looks.
type LoadOptions struct {
	// Baked is what the binary carries; zero for an unconfigured build.
	Baked Baked
	// SystemDir is the system-wide directory (see SystemDir); empty means
	// none is consulted.
	SystemDir string
	// StateFile remembers the highest serial seen per admin key, under the
	// user's home; empty disables rollback memory (tests of other things).
	StateFile string
}

// Loaded is the outcome of Load.
type Loaded struct {
	// Profile is the verified profile; nil when the installation is not
	// managed by an organisation.
	Profile *Profile
	// Source is "embedded" or the path of the system-wide profile file.
	Source string
	// Fingerprint is the pinned admin key that verified it.
	Fingerprint string
	// PreviousSerial is the highest serial this user had used before (0:
	// none), and Changed reports that this load recorded a new, higher
	// serial: a policy change the caller should append to the audit log.
	PreviousSerial int64
	Changed        bool
}

// Managed reports whether an organisation profile is in force.
func (l *Loaded) Managed() bool { return l != nil && l.Profile != nil }

// Load finds, verifies and returns the organisation profile, exactly as the
// app does at start. It looks at the profile baked into the binary and at the
// system-wide directory; every profile found must be signed by the pinned
// admin key (otherwise ErrUnsigned, ErrTampered, ErrWrongKey or
// ErrNoPinnedKey). Of the valid ones the highest serial wins, so a newer
// profile from the same key dropped into the system directory replaces the
// baked one. A serial lower than the highest already recorded in StateFile
// is refused with ErrRollback; a higher one is recorded.
//
// With no profile anywhere, Load returns an unmanaged *Loaded and no error.
// Callers must not start (and must send nothing) when Load fails.
func Load(o LoadOptions) (*Loaded, error) {
	type candidate struct {
		source          string
		data, sig, akey []byte
	}
	var cands []candidate
	if len(o.Baked.Profile) > 0 {
		cands = append(cands, candidate{"embedded", o.Baked.Profile, o.Baked.Signature, o.Baked.AdminKey})
	}
	if o.SystemDir != "" {
		path := filepath.Join(o.SystemDir, ProfileFile)
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("profile: read %s: %w", path, err)
		default:
			sig, err := os.ReadFile(filepath.Join(o.SystemDir, SignatureFile))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("profile: read signature: %w", err)
			}
			akey := o.Baked.AdminKey
			if len(akey) == 0 {
				akey, _ = os.ReadFile(filepath.Join(o.SystemDir, AdminKeyFile))
			}
			cands = append(cands, candidate{path, data, sig, akey})
		}
	}
	if len(cands) == 0 {
		return &Loaded{}, nil
	}
	var best *Loaded
	for _, c := range cands {
		if !o.Baked.Configured() {
			return nil, fmt.Errorf("profile: %s: %w", c.source, ErrNoPinnedKey)
		}
		p, err := Verify(c.data, c.sig, c.akey, o.Baked.Fingerprint)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.source, err)
		}
		if best == nil || p.Serial > best.Profile.Serial {
			best = &Loaded{Profile: p, Source: c.source, Fingerprint: o.Baked.Fingerprint}
		}
	}
	if o.StateFile != "" {
		prev, err := checkSerial(o.StateFile, best.Fingerprint, best.Profile.Serial)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", best.Source, err)
		}
		best.PreviousSerial, best.Changed = prev, prev != best.Profile.Serial
	}
	return best, nil
}

// checkSerial refuses serial if a higher one was recorded for fingerprint,
// and records it if it is the highest so far; it returns the serial recorded
// before (0: none). The file has one "FINGERPRINT SERIAL" line per admin key.
func checkSerial(path, fingerprint string, serial int64) (int64, error) {
	seen := map[string]int64{}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("profile: read %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
			seen[f[0]] = n
		}
	}
	prev, ok := seen[fingerprint]
	switch {
	case ok && serial < prev:
		return prev, fmt.Errorf("profile: serial %d, but serial %d was already used here: %w", serial, prev, ErrRollback)
	case ok && serial == prev:
		return prev, nil
	}
	seen[fingerprint] = serial
	var out bytes.Buffer
	out.WriteString("# highest organisation profile serial seen, per admin key; securesend refuses older ones\n")
	for fp, n := range seen {
		fmt.Fprintf(&out, "%s %d\n", fp, n)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return prev, fmt.Errorf("profile: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out.Bytes(), 0o600); err != nil {
		return prev, fmt.Errorf("profile: record serial: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return prev, fmt.Errorf("profile: record serial: %w", err)
	}
	return prev, nil
}
