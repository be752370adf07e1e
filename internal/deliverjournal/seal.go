package deliverjournal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/securesend/securesend/crypto/keychain"
)

// Names in the home's OS keychain namespace (the scheme of "inbox",
// "outbox" and the audit log's "audit-hmac:..."):
const (
	// KeyName is the per-home 32-byte HMAC key of every delivery journal.
	KeyName = "deliver-journal-hmac"
	// headPrefix + a journal's file name holds "SEQ MAC" of its last line
	// ("0 " for a journal with none).
	headPrefix = "deliver-journal-head:"
	// SealedName marks that every journal of the home was sealed: from
	// then on a journal without MACs is refused, not migrated.
	SealedName = "deliver-journal-sealed"
)

// macDomain separates these MACs from any other use of the key.
const macDomain = "securesend deliver-journal v1\n"

// macSuffix starts the MAC that ends every sealed line:
// {...the entry...,"mac":"HEX"}.
var macSuffix = []byte(`,"mac":"`)

// macLen is the length of a MAC in hex.
const macLen = 2 * sha256.Size

// SealError means the journal is not what this home's securesend wrote:
// a line whose MAC does not verify (forged, edited, copied from another
// journal), lines out of order or missing, lines cut off the end, MACs
// removed, or the key missing from the keychain. Nothing in the journal
// is trusted: the destination must not be delivered to until a person
// has checked what it received.
type SealError struct {
	Path string
	// Line is the first line found wrong, 0 when the journal as a whole
	// is (its end, its key).
	Line   int
	Reason string
}

func (e *SealError) Error() string {
	at := ""
	if e.Line > 0 {
		at = fmt.Sprintf(" line %d:", e.Line)
	}
	return fmt.Sprintf("delivery journal %s:%s %s; nothing of it is trusted", e.Path, at, e.Reason)
}

// ErrSealBroken is what every *SealError matches with errors.Is.
var ErrSealBroken = errors.New("delivery journal seal broken")

// Is makes errors.Is(err, ErrSealBroken) true for a *SealError.
func (e *SealError) Is(target error) bool { return target == ErrSealBroken }

// head is a journal's keychain anchor: its last line's sequence number
// and MAC.
type head struct {
	seq uint64
	mac string
}

func (h head) String() string { return strconv.FormatUint(h.seq, 10) + " " + h.mac }

func parseHead(s string) (head, bool) {
	seq, mac, ok := strings.Cut(s, " ")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil || (len(mac) != macLen && (n != 0 || mac != "")) {
		return head{}, false
	}
	return head{seq: n, mac: mac}, true
}

// sealer computes and checks a journal's MACs.
type sealer struct {
	kc   *keychain.Keychain
	key  []byte
	name string // the journal's file name: binds its lines to it
}

func (s *sealer) headName() string { return headPrefix + s.name }

// mac is the hex HMAC-SHA-256 of body (the line without its MAC), bound
// to the journal's name, the line's place and the line before it.
func (s *sealer) mac(seq uint64, prev string, body []byte) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "%s%s\n%d\n%s\n", macDomain, s.name, seq, prev)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// seal returns the line for body (a JSON object) with its MAC, and the
// MAC.
func (s *sealer) seal(seq uint64, prev string, body []byte) (line []byte, mac string) {
	mac = s.mac(seq, prev, body)
	out := make([]byte, 0, len(body)+len(macSuffix)+macLen+3)
	out = append(out, body[:len(body)-1]...)
	out = append(out, macSuffix...)
	out = append(out, mac...)
	return append(out, '"', '}', '\n'), mac
}

// splitMAC splits a trimmed sealed line into its body (as sealed) and
// MAC; ok is false for a line without one (written by an older
// securesend, or not a line at all).
func splitMAC(line []byte) (body []byte, mac string, ok bool) {
	n := len(line) - len(macSuffix) - macLen - 2
	if n < 1 || !bytes.HasSuffix(line, []byte(`"}`)) || !bytes.Equal(line[n:n+len(macSuffix)], macSuffix) {
		return nil, "", false
	}
	mac = string(line[n+len(macSuffix) : len(line)-2])
	if _, err := hex.DecodeString(mac); err != nil {
		return nil, "", false
	}
	body = append(append([]byte(nil), line[:n]...), '}')
	return body, mac, true
}

func (s *sealer) readHead() (head, bool, error) {
	v, err := s.kc.Get(s.headName())
	if errors.Is(err, keychain.ErrNotFound) {
		return head{}, false, nil
	}
	if err != nil {
		return head{}, false, fmt.Errorf("delivery journal: read its head from the keychain: %w", err)
	}
	h, ok := parseHead(v)
	if !ok {
		return head{}, false, errors.New("delivery journal: its head in the keychain is malformed")
	}
	return h, true, nil
}

func (s *sealer) setHead(h head) error {
	if err := s.kc.Set(s.headName(), h.String()); err != nil {
		return fmt.Errorf("delivery journal: anchor its head in the keychain: %w", err)
	}
	return nil
}

// homeKey returns the home's journal key. A missing key is created only
// when no journal was sealed yet (sealed false): otherwise it was
// removed, and the journals cannot be trusted.
func homeKey(kc *keychain.Keychain, sealed bool) ([]byte, error) {
	key, err := kc.LookupKey(KeyName)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, keychain.ErrNotFound) {
		return nil, fmt.Errorf("delivery journal: %w", err)
	}
	if sealed {
		return nil, errKeyMissing
	}
	key, err = kc.Key(KeyName)
	if err != nil {
		return nil, fmt.Errorf("delivery journal: %w", err)
	}
	return key, nil
}

var errKeyMissing = errors.New("the key that seals the delivery journals is missing from the OS keychain")

// isSealed reports whether the home's journals were sealed (migrated).
func isSealed(kc *keychain.Keychain) (bool, error) {
	_, err := kc.Get(SealedName)
	if errors.Is(err, keychain.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("delivery journal: %w", err)
	}
	return true, nil
}
