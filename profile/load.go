package profile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/atomicfile"
)

// File names of a profile bundle, both in the system-wide directory and in
// the directory baked into the binary.
const (
	ProfileFile     = "profile.toml"
	SignatureFile   = "profile.toml.sig"
	AdminKeyFile    = "admin-key.asc"
	FingerprintFile = "admin-key.fingerprint"
)

// SystemDirEnv overrides the directory SystemDir returns (tests, admins
// trying a new profile). It cannot weaken anything: in a build with a pinned
// admin key, a profile found there must be signed by that key and its serial
// must not be lower than the highest already in force (see Load), the
// profile in the OS's own system-wide directory is read all the same, and
// finding no profile anywhere stops securesend instead of running
// unmanaged.
const SystemDirEnv = "SECURESEND_SYSTEM_DIR"

// SystemDir returns the directory the system-wide profile is read from:
// $SECURESEND_SYSTEM_DIR when set, otherwise OSSystemDir.
func SystemDir(goos string, getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv(SystemDirEnv); d != "" {
		return d
	}
	return OSSystemDir(goos, getenv)
}

// OSSystemDir returns the operating system's own system-wide profile
// directory for goos, which only an administrator can write, whatever
// $SECURESEND_SYSTEM_DIR says: /etc/securesend,
// %ProgramData%\securesend or /Library/Application Support/securesend.
func OSSystemDir(goos string, getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
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
	// SystemDir is the directory the system-wide profile is read from (see
	// SystemDir); empty means none is consulted.
	SystemDir string
	// OSSystemDir is the operating system's own system-wide directory (see
	// OSSystemDir). Its profile is read even when SystemDir points
	// elsewhere, and when the two differ SystemDir is an override whose
	// profile must not be older than any other in force. Empty: SystemDir
	// is not treated as an override (tests of other things).
	OSSystemDir string
	// StateFile remembers the highest serial seen per admin key, under the
	// user's home; empty disables it (tests of other things).
	StateFile string
	// Serials remembers the highest serial seen per admin key outside the
	// home, so that deleting StateFile or starting from a fresh home does
	// not reset it (KeychainSerials: the OS keychain). Nil disables it
	// (tests of other things); the app always sets it.
	Serials SerialMemory
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

// candidate is one profile found by Load, before verification.
type candidate struct {
	source          string
	data, sig, akey []byte
	override        bool // found in an overriding SystemDir
}

// Load finds, verifies and returns the organisation profile, exactly as the
// app does at start. It looks at the profile baked into the binary, at the
// OS's system-wide directory and at SystemDir when that is an override;
// every profile found must be signed by the pinned admin key (otherwise
// ErrUnsigned, ErrTampered, ErrWrongKey or ErrNoPinnedKey). Of the valid
// ones the highest serial wins, so a newer profile from the same key
// dropped into the system directory replaces the baked one.
//
// Rollback: the floor is the highest of the baked profile's serial, the OS
// system-wide profile's serial, the serial recorded in StateFile and the
// one recorded in Serials. A winning profile below the recorded serials,
// or a profile in an overriding SystemDir below the floor, is refused with
// ErrRollback; a new highest serial is recorded in both places. Failing to
// read or write Serials is an error: without it a rollback could not be
// ruled out.
//
// A build that pins an admin key (Baked.Configured) never runs unmanaged:
// with no profile anywhere Load returns ErrNoProfile. Only an unconfigured
// build with no profile anywhere gets an unmanaged *Loaded and no error.
// Callers must not start (and must send nothing) when Load fails.
func Load(o LoadOptions) (*Loaded, error) {
	var cands []candidate
	if len(o.Baked.Profile) > 0 {
		cands = append(cands, candidate{source: "embedded", data: o.Baked.Profile, sig: o.Baked.Signature, akey: o.Baked.AdminKey})
	}
	dirs := []string{o.OSSystemDir}
	override := o.SystemDir != "" && o.OSSystemDir != "" && filepath.Clean(o.SystemDir) != filepath.Clean(o.OSSystemDir)
	if o.OSSystemDir == "" || override {
		dirs = append(dirs, o.SystemDir)
	}
	for i, dir := range dirs {
		if dir == "" {
			continue
		}
		c, found, err := readSystemProfile(dir, o.Baked.AdminKey)
		if err != nil {
			return nil, err
		}
		if found {
			c.override = override && i == 1
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		if o.Baked.Configured() {
			return nil, noProfileError(o)
		}
		return &Loaded{}, nil
	}
	if !o.Baked.Configured() {
		return nil, fmt.Errorf("profile: %s: %w", cands[0].source, ErrNoPinnedKey)
	}
	var (
		best     *Loaded
		verified = make([]*Profile, len(cands))
		floor    int64 // highest serial among the profiles an admin installed
	)
	for i, c := range cands {
		p, err := Verify(c.data, c.sig, c.akey, o.Baked.Fingerprint)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.source, err)
		}
		verified[i] = p
		if !c.override {
			floor = max(floor, p.Serial)
		}
		if best == nil || p.Serial > best.Profile.Serial {
			best = &Loaded{Profile: p, Source: c.source, Fingerprint: o.Baked.Fingerprint}
		}
	}
	fpr := best.Fingerprint
	var fileSerial, kcSerial int64
	if o.StateFile != "" {
		n, err := readStateSerial(o.StateFile, fpr)
		if err != nil {
			return nil, err
		}
		fileSerial = n
	}
	if o.Serials != nil {
		n, err := o.Serials.HighestSerial(fpr)
		if err != nil {
			return nil, fmt.Errorf("profile: the highest organisation profile serial used on this computer could not be read, so an older profile cannot be ruled out: %w", err)
		}
		kcSerial = n
	}
	seen := max(fileSerial, kcSerial)
	floor = max(floor, seen)
	for i, c := range cands {
		if c.override && verified[i].Serial < floor {
			return nil, fmt.Errorf("profile: %s (from %s) has serial %d, but serial %d is already in force here: %w", c.source, SystemDirEnv, verified[i].Serial, floor, ErrRollback)
		}
	}
	if best.Profile.Serial < seen {
		return nil, fmt.Errorf("profile: %s: serial %d, but serial %d was already used here: %w", best.Source, best.Profile.Serial, seen, ErrRollback)
	}
	serial := best.Profile.Serial
	if o.StateFile != "" && serial > fileSerial {
		if err := writeStateSerial(o.StateFile, fpr, serial); err != nil {
			return nil, err
		}
	}
	if o.Serials != nil && serial > kcSerial {
		if err := o.Serials.RecordSerial(fpr, serial); err != nil {
			return nil, fmt.Errorf("profile: the organisation profile serial could not be recorded: %w", err)
		}
	}
	best.PreviousSerial, best.Changed = seen, seen != serial
	return best, nil
}

// readSystemProfile reads the profile bundle in dir; found is false when
// dir holds no profile.toml. The admin key is the baked one when there is
// one (the pin is what counts), otherwise the bundle's own.
func readSystemProfile(dir string, bakedKey []byte) (c candidate, found bool, err error) {
	path := filepath.Join(dir, ProfileFile)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return candidate{}, false, nil
	case err != nil:
		return candidate{}, false, fmt.Errorf("profile: read %s: %w", path, err)
	}
	sig, err := os.ReadFile(filepath.Join(dir, SignatureFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return candidate{}, false, fmt.Errorf("profile: read signature: %w", err)
	}
	akey := bakedKey
	if len(akey) == 0 {
		akey, _ = os.ReadFile(filepath.Join(dir, AdminKeyFile))
	}
	return candidate{source: path, data: data, sig: sig, akey: akey}, true, nil
}

// noProfileError is ErrNoProfile naming the places Load looked.
func noProfileError(o LoadOptions) error {
	var where []string
	for _, d := range []string{o.OSSystemDir, o.SystemDir} {
		if d != "" && !slices.Contains(where, d) {
			where = append(where, d)
		}
	}
	if len(where) == 0 {
		return fmt.Errorf("profile: %w (none is built in)", ErrNoProfile)
	}
	return fmt.Errorf("profile: %w (none is built in, and none is in %s)", ErrNoProfile, strings.Join(where, " or "))
}

// SerialMemory remembers, outside the securesend home, the highest
// organisation profile serial used per admin key fingerprint.
type SerialMemory interface {
	// HighestSerial returns the serial recorded for fingerprint, 0 when
	// none is.
	HighestSerial(fingerprint string) (int64, error)
	// RecordSerial records serial as the highest for fingerprint.
	RecordSerial(fingerprint string, serial int64) error
}

// SerialKeychainService is the keychain namespace of KeychainSerials in the
// app. Unlike the per-home namespaces (internal/home), it is the same for
// every securesend home of the OS user, so a fresh home does not start
// from zero.
const SerialKeychainService = "securesend-profile-serials"

// KeychainSerials is a SerialMemory in kc: one entry
// "profile-serial:FINGERPRINT" per admin key, holding the decimal serial.
func KeychainSerials(kc *keychain.Keychain) SerialMemory { return keychainSerials{kc} }

type keychainSerials struct{ kc *keychain.Keychain }

func serialEntry(fingerprint string) string { return "profile-serial:" + fingerprint }

func (k keychainSerials) HighestSerial(fingerprint string) (int64, error) {
	s, err := k.kc.Get(serialEntry(fingerprint))
	if errors.Is(err, keychain.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("keychain entry %q is not a serial number", serialEntry(fingerprint))
	}
	return n, nil
}

func (k keychainSerials) RecordSerial(fingerprint string, serial int64) error {
	return k.kc.Set(serialEntry(fingerprint), strconv.FormatInt(serial, 10))
}

// readStateFile returns the "FINGERPRINT SERIAL" lines of the home's state
// file (a missing file is empty; malformed lines are skipped).
func readStateFile(path string) (map[string]int64, error) {
	seen := map[string]int64{}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("profile: read %s: %w", path, err)
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
	return seen, nil
}

// readStateSerial returns the serial the home's state file records for
// fingerprint (0: none).
func readStateSerial(path, fingerprint string) (int64, error) {
	seen, err := readStateFile(path)
	if err != nil {
		return 0, err
	}
	return seen[fingerprint], nil
}

// writeStateSerial records serial for fingerprint in the home's state file,
// keeping the other keys' lines.
func writeStateSerial(path, fingerprint string, serial int64) error {
	seen, err := readStateFile(path)
	if err != nil {
		return err
	}
	seen[fingerprint] = serial
	var out bytes.Buffer
	out.WriteString("# highest organisation profile serial seen, per admin key; securesend refuses older ones\n")
	for _, fp := range slices.Sorted(maps.Keys(seen)) {
		fmt.Fprintf(&out, "%s %d\n", fp, seen[fp])
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if err := atomicfile.WriteFile(path, out.Bytes()); err != nil {
		return fmt.Errorf("profile: record serial: %w", err)
	}
	return nil
}
