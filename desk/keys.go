package desk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/pgp"
)

// MaxKeyFile bounds a key file that KeyManager.Import reads.
const MaxKeyFile = 1 << 20

// KeyManager is the home's key store with the use cases the command line
// and the Settings tab share: it is the pgp.Store (its read methods as
// they are) whose changes that bear on trust, importing and pinning, are
// recorded in the audit log, and which exports and deletes by the rules
// below. Get it from Desk.ManageKeys.
type KeyManager struct {
	*pgp.Store
	d *Desk
}

// ManageKeys returns the home's key store as a KeyManager.
func (d *Desk) ManageKeys() (*KeyManager, error) {
	ks, err := d.Keys()
	if err != nil {
		return nil, err
	}
	return &KeyManager{Store: ks, d: d}, nil
}

// Import adds a correspondent's public key read from r (at most
// MaxKeyFile bytes), bound and pinned as opts say, and records a
// key.import event (address, fingerprint, trust). It returns
// pgp.ErrPinNeedsAddress, unchanged, when the key claims several
// addresses and opts names none: ask which, then call again.
func (m *KeyManager) Import(r io.Reader, opts pgp.ImportOptions) (pgp.Entry, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxKeyFile+1))
	if err != nil {
		return pgp.Entry{}, err
	}
	if len(data) > MaxKeyFile {
		return pgp.Entry{}, fmt.Errorf("the key file is larger than %d bytes", MaxKeyFile)
	}
	ent, err := m.Store.Import(strings.NewReader(string(data)), opts)
	if err != nil {
		return pgp.Entry{}, err
	}
	m.d.auditKey(audit.KeyImport, ent)
	return ent, nil
}

// ConfirmAddresses asks which of k's addresses its owner confirmed (read
// out its fingerprint for), one address at a time, and returns those; an
// error (no answer, none confirmed) means nothing is pinned.
type ConfirmAddresses func(k *pgp.PublicKey) ([]string, error)

// ImportConfirming is Import of the key read from r; when opts.Pin needs
// the addresses (pgp.ErrPinNeedsAddress: the key claims more than one and
// opts.Emails names none) and confirm is not nil, it asks confirm which
// and imports the key pinned for those only.
func (m *KeyManager) ImportConfirming(r io.Reader, opts pgp.ImportOptions, confirm ConfirmAddresses) (pgp.Entry, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxKeyFile+1))
	if err != nil {
		return pgp.Entry{}, err
	}
	ent, err := m.Import(bytes.NewReader(data), opts)
	if !errors.Is(err, pgp.ErrPinNeedsAddress) || confirm == nil {
		return ent, err
	}
	k, err := pgp.ReadPublicKey(bytes.NewReader(data))
	if err != nil {
		return pgp.Entry{}, err
	}
	if opts.Emails, err = confirm(k); err != nil {
		return pgp.Entry{}, err
	}
	return m.Import(bytes.NewReader(data), opts)
}

// PinConfirming pins key fpr for addrs when given (with replace, as
// PinAddresses), else for the one address it is bound to or claims (Pin);
// when that needs the addresses and confirm is not nil, for those confirm
// returns. replace without addrs is refused: the addresses to move must be
// named. It returns the key's entry after pinning.
func (m *KeyManager) PinConfirming(fpr pgp.Fingerprint, addrs []string, replace bool, confirm ConfirmAddresses) (pgp.Entry, error) {
	var err error
	switch {
	case len(addrs) > 0:
		err = m.PinAddresses(fpr, addrs, replace)
	case replace:
		if err = m.Pin(fpr); errors.Is(err, pgp.ErrPinNeedsAddress) {
			err = fmt.Errorf("%w (--replace needs the addresses named with --email)", err)
		}
	default:
		if err = m.Pin(fpr); errors.Is(err, pgp.ErrPinNeedsAddress) && confirm != nil {
			var k *pgp.PublicKey
			if k, err = m.Public(fpr); err == nil {
				if addrs, err = confirm(k); err == nil {
					err = m.PinAddresses(fpr, addrs, false)
				}
			}
		}
	}
	if err != nil {
		return pgp.Entry{}, err
	}
	return m.Entry(fpr)
}

// ImportSecret imports the user's own secret key (e.g. from gpg), locked
// with passphrase, relocks it with a new random passphrase kept in the OS
// keychain, and records a key.import event.
func (m *KeyManager) ImportSecret(r io.Reader, passphrase []byte) (pgp.Entry, error) {
	ent, err := m.Store.ImportSecret(r, passphrase)
	if err != nil {
		return pgp.Entry{}, err
	}
	m.d.auditKey(audit.KeyImport, ent)
	return ent, nil
}

// PinAddresses pins key fpr for addrs (its owner confirmed the
// fingerprint); with replace, an address pinned to another key moves to
// this one. It records a key.pin event.
func (m *KeyManager) PinAddresses(fpr pgp.Fingerprint, addrs []string, replace bool) error {
	if err := m.Store.PinAddresses(fpr, addrs, replace); err != nil {
		return err
	}
	m.auditPin(fpr)
	return nil
}

// Pin pins key fpr for the one address it is bound to or claims; it
// returns pgp.ErrPinNeedsAddress, unchanged, when that is not one
// address. It records a key.pin event.
func (m *KeyManager) Pin(fpr pgp.Fingerprint) error {
	if err := m.Store.Pin(fpr); err != nil {
		return err
	}
	m.auditPin(fpr)
	return nil
}

func (m *KeyManager) auditPin(fpr pgp.Fingerprint) {
	ent, err := m.Store.Entry(fpr)
	if err != nil {
		m.d.warn(fmt.Errorf("the audit log could not record this: %w", err))
		return
	}
	m.d.auditKey(audit.KeyPin, ent)
}

// Export returns the public keys that sel names, as 'gpg --export SEL'
// finds them: "" is the user's own key; an e-mail address, the keys bound
// to it, pinned ones first (an error when none is, saying so when a key
// merely claims it); anything else is read as a fingerprint.
func (m *KeyManager) Export(sel string) ([]*pgp.PublicKey, error) {
	var fprs []pgp.Fingerprint
	switch {
	case sel == "":
		own, err := m.Own()
		if err != nil {
			return nil, err
		}
		fprs = append(fprs, own.Fingerprint)
	case strings.Contains(sel, "@"):
		var err error
		if fprs, err = m.boundKeys(sel); err != nil {
			return nil, err
		}
	default:
		fpr, err := pgp.ParseFingerprint(sel)
		if err != nil {
			return nil, err
		}
		fprs = append(fprs, fpr)
	}
	var out []*pgp.PublicKey
	for _, fpr := range fprs {
		k, err := m.Public(fpr)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// boundKeys returns the fingerprints of the keys bound to addr, pinned
// ones first; an error when there is none, saying so when a key merely
// claims addr.
func (m *KeyManager) boundKeys(addr string) ([]pgp.Fingerprint, error) {
	a := pgp.NormalizeAddress(addr)
	if a == "" {
		return nil, fmt.Errorf("%q is not an e-mail address or a fingerprint", addr)
	}
	es, err := m.BoundTo(a)
	if err != nil {
		return nil, err
	}
	var fprs []pgp.Fingerprint
	for _, ent := range es {
		fprs = append(fprs, ent.Fingerprint)
	}
	if len(fprs) > 0 {
		return fprs, nil
	}
	all, err := m.List()
	if err != nil {
		return nil, err
	}
	for _, ent := range all {
		for _, c := range ent.Claimed {
			if strings.EqualFold(c, a) {
				return nil, fmt.Errorf("no key is bound to %s; key %s claims it but is not bound to it (bind it with 'securesend keys pin %s --email %s' after comparing its fingerprint with the owner)",
					a, ent.Fingerprint.Grouped(), ent.Fingerprint, a)
			}
		}
	}
	return nil, fmt.Errorf("no key is bound to %s: %w", a, pgp.ErrNotFound)
}

// ErrOwnKey refuses to delete the user's own key without a confirmation:
// its secret key cannot be recovered.
var ErrOwnKey = errors.New("this is your own key; its secret key cannot be recovered")

// Delete removes key fpr; the user's own key only with ownConfirmed
// (else ErrOwnKey).
func (m *KeyManager) Delete(fpr pgp.Fingerprint, ownConfirmed bool) error {
	ent, err := m.Entry(fpr)
	if err != nil {
		return err
	}
	if ent.Secret && !ownConfirmed {
		return fmt.Errorf("%s: %w", fpr.Grouped(), ErrOwnKey)
	}
	return m.Store.Delete(fpr)
}

// auditKey records a key import or pin in the audit log (address,
// fingerprint, trust); a failure to record is a warning: the change is
// made.
func (d *Desk) auditKey(kind audit.Kind, ent pgp.Entry) {
	err := d.record(kind, audit.Fields{
		"address": strings.Join(ent.Emails, " "), "fingerprint": string(ent.Fingerprint), "state": string(ent.Trust),
	})
	if err != nil && !errors.Is(err, ErrDemoNoAudit) { // the demo keeps no audit log
		d.warn(fmt.Errorf("the audit log could not record this: %w", err))
	}
}
