package relay

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/internal/filelock"
)

// Argon2id parameters of new device passwords (RFC 9106's second
// recommended option, lowered in memory to 64 MiB so that a few devices
// signing in at once stay within a small office PC's means). Stored with
// each hash, so they can be raised without invalidating old ones.
const (
	argonTime    = 3
	argonMemory  = 64 << 10 // KiB
	argonThreads = 2
	argonKeyLen  = 32
	argonSaltLen = 16
)

// MinPasswordLen is the shortest device password accepted. Devices store
// the password themselves; nobody types it, so it can be long.
const MinPasswordLen = 16

// ErrDeviceExists, ErrNoDevice and ErrBadDeviceName are Devices' refusals.
var (
	ErrDeviceExists  = errors.New("a device of that name exists; remove it first")
	ErrNoDevice      = errors.New("no such device")
	ErrBadDeviceName = errors.New("a device name is 1 to 64 letters, digits, '.', '_' or '-'")
)

var deviceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Device is one device that may submit: its name and when it was added.
// The password hash never leaves Devices.
type Device struct {
	Name  string    `json:"name"`
	Added time.Time `json:"added"`
}

type deviceRecord struct {
	Device
	// Hash is "$argon2id$v=19$m=M,t=T,p=P$SALT$KEY" (PHC string format,
	// unpadded base64).
	Hash string `json:"hash"`
}

type deviceFile struct {
	Devices []deviceRecord `json:"devices"`
}

// Devices is the file of devices that may sign in to the relay (in the
// securesend home), with their passwords as argon2id hashes. It is read
// again on every sign-in, so that a device added or removed while the
// relay runs counts at once.
type Devices struct {
	path string
	lock filelock.Mutex
}

// OpenDevices returns the device file at path (it need not exist yet).
func OpenDevices(path string) *Devices {
	return &Devices{path: path, lock: filelock.Mutex{Path: path + ".lock"}}
}

// Add adds the device name with password. The password is kept only as
// an argon2id hash.
func (d *Devices) Add(name, password string) error {
	if !deviceName.MatchString(name) {
		return fmt.Errorf("relay: device %q: %w", name, ErrBadDeviceName)
	}
	if len(password) < MinPasswordLen {
		return fmt.Errorf("relay: device %s: the password must be at least %d characters (the device stores it; make it long and random)", name, MinPasswordLen)
	}
	hash, err := hashPassword(password)
	if err != nil {
		return fmt.Errorf("relay: device %s: %w", name, err)
	}
	return d.update(func(f *deviceFile) error {
		for _, r := range f.Devices {
			if strings.EqualFold(r.Name, name) {
				return fmt.Errorf("relay: device %s: %w", name, ErrDeviceExists)
			}
		}
		f.Devices = append(f.Devices, deviceRecord{Device: Device{Name: name, Added: time.Now().UTC()}, Hash: hash})
		return nil
	})
}

// Remove removes the device name; it can no longer sign in.
func (d *Devices) Remove(name string) error {
	return d.update(func(f *deviceFile) error {
		i := slices.IndexFunc(f.Devices, func(r deviceRecord) bool { return strings.EqualFold(r.Name, name) })
		if i < 0 {
			return fmt.Errorf("relay: device %q: %w", name, ErrNoDevice)
		}
		f.Devices = slices.Delete(f.Devices, i, i+1)
		return nil
	})
}

// List returns the devices, in the order they were added.
func (d *Devices) List() ([]Device, error) {
	f, err := d.read()
	if err != nil {
		return nil, err
	}
	out := make([]Device, len(f.Devices))
	for i, r := range f.Devices {
		out[i] = r.Device
	}
	return out, nil
}

// Check reports whether name signs in with password: the device's name
// as stored, or an error. A wrong name and a wrong password take the same
// time and give the same error (ErrAuthFailed).
func (d *Devices) Check(name, password string) (string, error) {
	f, err := d.read()
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(f.Devices, func(r deviceRecord) bool { return strings.EqualFold(r.Name, name) })
	if i < 0 {
		// The same work as for a real device, so that timing does not
		// tell which names exist.
		_, _ = verifyPassword(dummyHash, password)
		return "", ErrAuthFailed
	}
	ok, err := verifyPassword(f.Devices[i].Hash, password)
	if err != nil {
		return "", fmt.Errorf("relay: device %s: %w", f.Devices[i].Name, err)
	}
	if !ok {
		return "", ErrAuthFailed
	}
	return f.Devices[i].Name, nil
}

// ErrAuthFailed: the device name or the password is wrong.
var ErrAuthFailed = errors.New("wrong device name or password")

// maxDeviceFile bounds the device file (a few hundred bytes a device).
const maxDeviceFile = 1 << 20

// dummyHash is checked against when the device does not exist.
const dummyHash = "$argon2id$v=19$m=65536,t=3,p=2$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// read reads the device file. A device file that is not a regular file
// (a symbolic link planted in its place, say) is refused, not followed:
// whoever planted it would choose who may sign in.
func (d *Devices) read() (*deviceFile, error) {
	l, err := os.Lstat(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return &deviceFile{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("relay: devices: %w", err)
	}
	if !l.Mode().IsRegular() {
		return nil, fmt.Errorf("relay: devices: %s is not a regular file (%s); refusing it", d.path, l.Mode().Type())
	}
	r, err := os.Open(d.path)
	if err != nil {
		return nil, fmt.Errorf("relay: devices: %w", err)
	}
	defer r.Close()
	// The file opened is the one checked, not a link swapped in between.
	if fi, err := r.Stat(); err != nil || !os.SameFile(fi, l) {
		return nil, fmt.Errorf("relay: devices: %s changed while it was read; refusing it", d.path)
	}
	b, err := io.ReadAll(io.LimitReader(r, maxDeviceFile+1))
	if err != nil {
		return nil, fmt.Errorf("relay: devices: %w", err)
	}
	if len(b) > maxDeviceFile {
		return nil, fmt.Errorf("relay: devices: %s is over %d bytes; refusing it", d.path, maxDeviceFile)
	}
	var f deviceFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("relay: devices: %s is damaged: %w", d.path, err)
	}
	return &f, nil
}

func (d *Devices) update(change func(*deviceFile) error) error {
	unlock, err := d.lock.Lock()
	if err != nil {
		return fmt.Errorf("relay: devices: %w", err)
	}
	defer unlock()
	f, err := d.read()
	if err != nil {
		return err
	}
	if err := change(f); err != nil {
		return err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("relay: devices: %w", err)
	}
	if err := atomicfile.WriteFile(d.path, append(b, '\n')); err != nil {
		return fmt.Errorf("relay: devices: %w", err)
	}
	return nil
}

var b64 = base64.RawStdEncoding

func hashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyPassword checks password against a PHC argon2id string. Its
// parameters are bounded, so a tampered file cannot make a sign-in take
// gigabytes.
func verifyPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errors.New("stored password hash is not argon2id")
	}
	var version int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("stored password hash has an unknown argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m < 8*uint32(max(p, 1)) || m > 1<<20 || t < 1 || t > 16 || p < 1 {
		return false, errors.New("stored password hash has parameters out of range")
	}
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(want) < 16 || len(want) > 64 {
		return false, errors.New("stored password hash is damaged")
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
