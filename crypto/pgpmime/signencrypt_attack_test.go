package pgpmime

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/klauspost/compress/flate"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
)

// These tests attack signEncrypt, the hand-assembled sign+encrypt path,
// against go-crypto's openpgp.Encrypt (whose choices it claims to make)
// and against GnuPG 2.2.

// attackNow is the fixed clock of these tests: both writers sign at the
// same second so their signatures can be compared field by field.
var attackNow = time.Now().Add(-time.Minute).Truncate(time.Second)

// attackCfg is the packet.Config WriteEncrypted gives signEncrypt.
func attackCfg() *packet.Config {
	cfg := pgp.Config(func() time.Time { return attackNow })
	cfg.DefaultCompressionAlgo = packet.CompressionZIP
	cfg.CompressionConfig = &packet.CompressionConfig{Level: flate.HuffmanOnly}
	return cfg
}

// shape is what a sign+encrypt message is made of, read packet by packet
// with one recipient's secret key: everything that must not differ
// between signEncrypt and openpgp.Encrypt but the random bytes.
type shape struct {
	Outer       []string // packet tags with key ids, as written
	Cipher      packet.CipherFunction
	KeyLen      int
	Compression int // -1: no Compressed Data packet
	Inner       []string
	OPS         string
	Literal     string
	Sig         string
	data        []byte
	key         []byte
	sig         *packet.Signature
}

// dissect decrypts ct with priv's keys and returns its shape, failing the
// test when any layer is malformed or the MDC does not match.
func dissect(t *testing.T, ct []byte, priv *openpgp.Entity) shape {
	t.Helper()
	var s shape
	s.Compression = -1
	r := packet.NewReader(bytes.NewReader(ct))
	var body io.Reader
	for body == nil {
		p, err := r.Next()
		if err != nil {
			t.Fatalf("outer packets: %v", err)
		}
		switch p := p.(type) {
		case *packet.EncryptedKey:
			s.Outer = append(s.Outer, fmt.Sprintf("PKESK v%d %016x algo %d", p.Version, p.KeyId, p.Algo))
			for _, k := range (openpgp.EntityList{priv}).KeysById(p.KeyId) {
				if s.key == nil && k.PrivateKey != nil && p.Decrypt(k.PrivateKey, nil) == nil {
					s.Cipher, s.key = p.CipherFunc, p.Key
				}
			}
		case *packet.SymmetricallyEncrypted:
			s.Outer = append(s.Outer, fmt.Sprintf("SEIPD v%d", p.Version))
			if s.key == nil {
				t.Fatal("no PKESK for the decrypting key")
			}
			rc, err := p.Decrypt(s.Cipher, s.key)
			if err != nil {
				t.Fatal(err)
			}
			body = rc
		default:
			t.Fatalf("unexpected outer packet %T", p)
		}
	}
	s.KeyLen = len(s.key)
	plain, err := io.ReadAll(body) // the MDC is checked at EOF
	if err != nil {
		t.Fatalf("SEIPD body: %v", err)
	}
	if len(plain) > 0 && plain[0]&0x3f == 8 {
		_, cbody, rest := pgptest.SplitPacket(t, plain)
		if len(rest) != 0 {
			t.Fatalf("%d bytes after the Compressed Data packet", len(rest))
		}
		s.Compression = int(cbody[0])
		if s.Compression != int(packet.CompressionZIP) {
			t.Fatalf("compression algorithm %d", s.Compression)
		}
		if plain, err = io.ReadAll(flate.NewReader(bytes.NewReader(cbody[1:]))); err != nil {
			t.Fatalf("inflate: %v", err)
		}
	}
	in := bytes.NewReader(plain)
	for in.Len() > 0 {
		p, err := packet.Read(in)
		if err != nil {
			t.Fatalf("inner packets: %v", err)
		}
		switch p := p.(type) {
		case *packet.OnePassSignature:
			s.Inner = append(s.Inner, "OPS")
			s.OPS = fmt.Sprintf("v%d type %d hash %v algo %d key %016x last %v", p.Version, p.SigType, p.Hash, p.PubKeyAlgo, p.KeyId, p.IsLast)
		case *packet.LiteralData:
			s.Inner = append(s.Inner, "Literal")
			s.Literal = fmt.Sprintf("binary %v name %q time %d", p.IsBinary, p.FileName, p.Time)
			if s.data, err = io.ReadAll(p.Body); err != nil {
				t.Fatal(err)
			}
		case *packet.Signature:
			s.Inner = append(s.Inner, "Signature")
			s.sig = p
			s.Sig = fmt.Sprintf("v%d type %d hash %v algo %d issuer %016x fpr %x created %d", p.Version, p.SigType, p.Hash, p.PubKeyAlgo, *p.IssuerKeyId, p.IssuerFingerprint, p.CreationTime.Unix())
		default:
			t.Fatalf("unexpected inner packet %T", p)
		}
	}
	return s
}

// verifyShape checks that s's signature is good over exactly the literal
// data bytes by signer's signing key and agrees with its one-pass
// signature packet.
func verifyShape(t *testing.T, s shape, signer *openpgp.Entity, want []byte) {
	t.Helper()
	if !slices.Equal(s.Inner, []string{"OPS", "Literal", "Signature"}) {
		t.Fatalf("inner packets %v, want OPS, Literal, Signature", s.Inner)
	}
	if !bytes.Equal(s.data, want) {
		t.Fatalf("literal data: %d bytes, want %d", len(s.data), len(want))
	}
	if s.Literal != `binary true name "" time 0` {
		t.Errorf("literal data packet: %s", s.Literal)
	}
	key, ok := signer.SigningKey(attackNow)
	if !ok {
		t.Fatal("signer has no signing key")
	}
	if wantOPS := fmt.Sprintf("v3 type 0 hash %v algo %d key %016x last true", s.sig.Hash, key.PublicKey.PubKeyAlgo, key.PublicKey.KeyId); s.OPS != wantOPS {
		t.Errorf("one-pass signature %q, want %q (as the signature)", s.OPS, wantOPS)
	}
	if s.sig.SigType != packet.SigTypeBinary || *s.sig.IssuerKeyId != key.PublicKey.KeyId || !bytes.Equal(s.sig.IssuerFingerprint, key.PublicKey.Fingerprint) || !s.sig.CreationTime.Equal(attackNow) {
		t.Errorf("signature %s: want binary, issuer %016x fpr %x, created %d", s.Sig, key.PublicKey.KeyId, key.PublicKey.Fingerprint, attackNow.Unix())
	}
	h := s.sig.Hash.New()
	h.Write(s.data)
	if err := key.PublicKey.VerifySignature(h, s.sig); err != nil {
		t.Errorf("signature over the literal data: %v", err)
	}
}

// newEntity makes a TEST ONLY entity with go-crypto; edit, when not nil,
// changes its config first.
func newEntity(t *testing.T, name string, edit func(*packet.Config)) *openpgp.Entity {
	t.Helper()
	cfg := pgp.Config(func() time.Time { return attackNow.Add(-2 * time.Hour) })
	cfg.DefaultCompressionAlgo = packet.CompressionZIP // lists uncompressed and ZIP, as GnuPG's and ours
	if edit != nil {
		edit(cfg)
	}
	e, err := openpgp.NewEntity(name, "TEST ONLY", strings.ToLower(strings.Fields(name)[0])+"@test.invalid", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// withPrefs returns e with the preferences of its self-signature replaced
// (in memory: both writers read them from there).
func withPrefs(e *openpgp.Entity, sym, hash, comp []uint8) *openpgp.Entity {
	self, _ := e.PrimarySelfSignature()
	if sym != nil {
		self.PreferredSymmetric = sym
	}
	if hash != nil {
		self.PreferredHash = hash
	}
	if comp != nil {
		self.PreferredCompression = comp
	}
	return e
}

// seal runs signEncrypt, or go-crypto's openpgp.Encrypt when reference.
func seal(to openpgp.EntityList, signer *openpgp.Entity, plain []byte, reference bool) ([]byte, error) {
	var ct bytes.Buffer
	cfg := attackCfg()
	hints := &openpgp.FileHints{IsBinary: true}
	var w io.WriteCloser
	var err error
	if reference {
		w, err = openpgp.Encrypt(&ct, to, signer, hints, cfg)
	} else {
		w, err = signEncrypt(&ct, to, signer, hints, cfg)
	}
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return ct.Bytes(), nil
}

const (
	idAES128 = uint8(packet.CipherAES128)
	idAES192 = uint8(packet.CipherAES192)
	idAES256 = uint8(packet.CipherAES256)
	idSHA1   = 2
	idSHA256 = 8
	idSHA384 = 9
	idSHA512 = 10
	idNone   = uint8(packet.CompressionNone)
	idZIP    = uint8(packet.CompressionZIP)
	idZLIB   = uint8(packet.CompressionZLIB)
)

// TestAttackChoicesMatchEncrypt: for signers and recipients with every
// mix of preferences, subkeys and validity, signEncrypt writes a message
// of the same shape as openpgp.Encrypt (same PKESKs to the same subkeys,
// cipher, key size, compression, one-pass signature, literal packet and
// signature fields) or refuses exactly when it refuses; and the signature
// is good over exactly the data.
func TestAttackChoicesMatchEncrypt(t *testing.T) {
	rsaCfg := func(c *packet.Config) { c.Algorithm, c.RSABits = packet.PubKeyAlgoRSA, 3072 }
	expiredEnc := newEntity(t, "Expired Enc", nil)
	{
		old := pgp.Config(func() time.Time { return attackNow.Add(-2 * time.Hour) })
		old.KeyLifetimeSecs = 60
		expiredEnc.Subkeys = nil
		if err := expiredEnc.AddEncryptionSubkey(old); err != nil {
			t.Fatal(err)
		}
	}
	revokedEnc := newEntity(t, "Revoked Enc", nil)
	if err := revokedEnc.RevokeSubkey(&revokedEnc.Subkeys[0], packet.KeyCompromised, "test", pgp.Config(func() time.Time { return attackNow.Add(-time.Hour) })); err != nil {
		t.Fatal(err)
	}
	signOnly := newEntity(t, "Sign Only", nil)
	signOnly.Subkeys = nil
	if err := signOnly.AddSigningSubkey(pgp.Config(func() time.Time { return attackNow.Add(-time.Hour) })); err != nil {
		t.Fatal(err)
	}
	signAndEnc := newEntity(t, "Sign Enc", nil)
	if err := signAndEnc.AddSigningSubkey(pgp.Config(func() time.Time { return attackNow.Add(-time.Hour) })); err != nil {
		t.Fatal(err)
	}
	twoEnc := newEntity(t, "Two Enc", nil)
	if err := twoEnc.AddEncryptionSubkey(pgp.Config(func() time.Time { return attackNow.Add(-time.Hour) })); err != nil {
		t.Fatal(err)
	}
	revokedKey := newEntity(t, "Revoked Key", nil)
	if err := revokedKey.RevokeKey(packet.KeySuperseded, "test", pgp.Config(func() time.Time { return attackNow.Add(-time.Hour) })); err != nil {
		t.Fatal(err)
	}
	expiredSignSub := newEntity(t, "Expired Signsub", nil)
	{
		old := pgp.Config(func() time.Time { return attackNow.Add(-2 * time.Hour) })
		old.KeyLifetimeSecs = 60
		if err := expiredSignSub.AddSigningSubkey(old); err != nil {
			t.Fatal(err)
		}
	}

	type tc struct {
		name   string
		signer *openpgp.Entity
		to     func(signer *openpgp.Entity) openpgp.EntityList
	}
	alice := func() *openpgp.Entity { return newEntity(t, "Alice Ed", nil) }
	plus := func(es ...*openpgp.Entity) func(*openpgp.Entity) openpgp.EntityList {
		return func(s *openpgp.Entity) openpgp.EntityList { return append(openpgp.EntityList{s}, es...) }
	}
	cases := []tc{
		{"ed25519 to self", alice(), plus()},
		{"ed25519 to self and bob", alice(), plus(newEntity(t, "Bob Ed", nil))},
		{"rsa-3072 signer and recipient", newEntity(t, "Rsa Signer", rsaCfg), plus(newEntity(t, "Rsa Rcpt", rsaCfg))},
		{"recipient only AES-128", alice(), plus(withPrefs(newEntity(t, "Aes Onetwentyeight", nil), []uint8{idAES128}, nil, nil))},
		{"recipient AES-128 first", alice(), plus(withPrefs(newEntity(t, "Aes First", nil), []uint8{idAES128, idAES256}, nil, nil))},
		{"recipient only AES-192", alice(), plus(withPrefs(newEntity(t, "Aes Oneninetytwo", nil), []uint8{idAES192}, nil, nil))},
		{"recipient lists no cipher", alice(), plus(withPrefs(newEntity(t, "No Cipher", nil), []uint8{}, nil, nil))},
		{"signer and recipient SHA-512 only", withPrefs(alice(), nil, []uint8{idSHA512, idSHA256}, nil), plus(withPrefs(newEntity(t, "Sha Fivetwelve", nil), nil, []uint8{idSHA512}, nil))},
		{"recipient SHA-384, SHA-512", alice(), plus(withPrefs(newEntity(t, "Sha Threeeightyfour", nil), nil, []uint8{idSHA384, idSHA512, idSHA256}, nil))},
		{"recipient SHA-1 only", alice(), plus(withPrefs(newEntity(t, "Sha One", nil), nil, []uint8{idSHA1}, nil))},
		{"signer SHA-512 only, recipient SHA-1 only", withPrefs(alice(), nil, []uint8{idSHA512}, nil), plus(withPrefs(newEntity(t, "Sha Oneagain", nil), nil, []uint8{idSHA1}, nil))},
		{"signer SHA-512 only, not encrypting to self", withPrefs(alice(), nil, []uint8{idSHA512}, nil), func(*openpgp.Entity) openpgp.EntityList { return openpgp.EntityList{newEntity(t, "Other Bob", nil)} }},
		{"recipient lists no compression", alice(), plus(withPrefs(newEntity(t, "No Comp", nil), nil, nil, []uint8{}))},
		{"recipient uncompressed only", alice(), plus(withPrefs(newEntity(t, "Uncomp Only", nil), nil, nil, []uint8{idNone}))},
		{"recipient ZLIB only", alice(), plus(withPrefs(newEntity(t, "Zlib Only", nil), nil, nil, []uint8{idZLIB}))},
		{"recipient ZIP only", alice(), plus(withPrefs(newEntity(t, "Zip Only", nil), nil, nil, []uint8{idZIP}))},
		{"recipient whose only encryption subkey expired", alice(), plus(expiredEnc)},
		{"recipient whose only encryption subkey is revoked", alice(), plus(revokedEnc)},
		{"recipient with a signing subkey only", alice(), plus(signOnly)},
		{"recipient with signing and encryption subkeys", alice(), plus(signAndEnc)},
		{"recipient with two encryption subkeys", alice(), plus(twoEnc)},
		{"revoked recipient key", alice(), plus(revokedKey)},
		{"signer with an expired signing subkey", expiredSignSub, plus()},
		{"signer with a signing subkey", signAndEnc, plus(newEntity(t, "Bob Again", nil))},
		{"v6 recipient (SEIPDv2 advertised, v1 written)", alice(), plus(newEntity(t, "Six Rcpt", func(c *packet.Config) { c.V6Keys, c.Algorithm = true, packet.PubKeyAlgoEd25519 }))},
		{"v6 recipient with AEAD preferences", alice(), plus(newEntity(t, "Six Aead", func(c *packet.Config) {
			c.V6Keys, c.Algorithm = true, packet.PubKeyAlgoEd25519
			c.AEADConfig = &packet.AEADConfig{DefaultMode: packet.AEADModeOCB}
		}))},
		{"three recipients, mixed preferences", alice(), plus(
			withPrefs(newEntity(t, "Mix One", nil), []uint8{idAES256, idAES128}, []uint8{idSHA512, idSHA256}, []uint8{idZLIB, idZIP, idNone}),
			withPrefs(newEntity(t, "Mix Two", rsaCfg), []uint8{idAES128, idAES256}, []uint8{idSHA256}, []uint8{idZIP}),
			newEntity(t, "Mix Three", nil))},
	}
	plain := make([]byte, 70000)
	rand.Read(plain[:35000])
	copy(plain[35000:], bytes.Repeat([]byte("QUJDREVG\r\n"), 3500))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			to := c.to(c.signer)
			self, _ := c.signer.PrimarySelfSignature()
			before := slices.Clone(self.PreferredHash)
			got, gerr := seal(to, c.signer, plain, false)
			if self, _ := c.signer.PrimarySelfSignature(); !slices.Equal(self.PreferredHash, before) {
				t.Fatalf("signEncrypt changed the signer's preferred hashes %v to %v", before, self.PreferredHash)
			}
			want, werr := seal(to, c.signer, plain, true)
			if (gerr != nil) != (werr != nil) {
				t.Fatalf("signEncrypt error %v, openpgp.Encrypt error %v", gerr, werr)
			}
			if gerr != nil {
				t.Logf("both refuse: %v", gerr)
				return
			}
			for _, r := range to {
				if r.PrivateKey == nil {
					continue
				}
				gs, ws := dissect(t, got, r), dissect(t, want, r)
				verifyShape(t, gs, c.signer, plain)
				verifyShape(t, ws, c.signer, plain)
				if gs.Outer[len(gs.Outer)-1] != "SEIPD v1" || !strings.HasPrefix(gs.Outer[0], "PKESK v3 ") {
					t.Errorf("packets %v: want v3 PKESKs and SEIPD v1 (GnuPG 2.2)", gs.Outer)
				}
				if gs.KeyLen != gs.Cipher.KeySize() {
					t.Errorf("session key of %d bytes for cipher %v", gs.KeyLen, gs.Cipher)
				}
				if bytes.Equal(gs.key, ws.key) {
					t.Error("two messages share a session key")
				}
				gs.data, gs.key, gs.sig, ws.data, ws.key, ws.sig = nil, nil, nil, nil, nil, nil
				if fmt.Sprint(gs) != fmt.Sprint(ws) {
					t.Errorf("for %s:\nsignEncrypt     %+v\nopenpgp.Encrypt %+v", r.PrimaryIdentity().Name, gs, ws)
				}
			}
		})
	}
}

// TestAttackNoAEAD: a config asking for AEAD (SEIPD v2) is refused, not
// silently written as SEIPD v1.
func TestAttackNoAEAD(t *testing.T) {
	alice := newEntity(t, "Alice Aead", nil)
	cfg := attackCfg()
	cfg.AEADConfig = &packet.AEADConfig{}
	if _, err := signEncrypt(io.Discard, openpgp.EntityList{alice}, alice, &openpgp.FileHints{IsBinary: true}, cfg); err == nil {
		t.Fatal("AEAD config accepted")
	}
}

// TestAttackSessionKeys: every message has its own random session key of
// the chosen cipher's size, and the same plaintext never encrypts to the
// same bytes.
func TestAttackSessionKeys(t *testing.T) {
	alice, bob := newEntity(t, "Alice Keys", nil), newEntity(t, "Bob Keys", nil)
	seen := map[string]bool{}
	var prev []byte
	for range 20 {
		ct, err := seal(openpgp.EntityList{alice, bob}, alice, []byte("same"), false)
		if err != nil {
			t.Fatal(err)
		}
		s := dissect(t, ct, bob)
		if s.Cipher != packet.CipherAES256 || s.KeyLen != 32 {
			t.Fatalf("cipher %v with a %d-byte key, want AES-256 with 32", s.Cipher, s.KeyLen)
		}
		if seen[string(s.key)] || bytes.Equal(ct, prev) {
			t.Fatal("a session key or a ciphertext repeated")
		}
		seen[string(s.key)] = true
		prev = ct
	}
}

// TestAttackFraming: the Compressed Data packet's partial body lengths are
// each 2^16 (so powers of two, the first at least 512 octets) and the
// last is a definite length, for compressed bodies of 0, 1 and 65536*k±1
// octets and messages of such lengths; every message decrypts with the
// MDC checked and a good signature.
func TestAttackFraming(t *testing.T) {
	chunk := 1 << partialChunkPower
	for _, n := range []int{0, 1, 2, 191, 192, 193, 511, 512, 513, 8383, 8384, chunk + 191, chunk + 192, chunk + 8384, chunk - 1, chunk, chunk + 1, 2*chunk - 1, 2 * chunk, 2*chunk + 1, 3*chunk + 1} {
		data := make([]byte, max(n-1, 0))
		rand.Read(data)
		var b bytes.Buffer
		w := newPartialWriter(&b, packetTagCompressed, []byte{idZIP})
		if n > 0 {
			if _, err := w.Write(data); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		raw := b.Bytes()
		if raw[0] != 0xc0|packetTagCompressed {
			t.Fatalf("body %d: header % x", n, raw[0])
		}
		raw = raw[1:]
		body := max(n, 1) // the algorithm octet is always there
		for body >= chunk {
			if raw[0] != 0xe0|partialChunkPower {
				t.Fatalf("body %d: partial length octet %#x, want %#x", n, raw[0], 0xe0|partialChunkPower)
			}
			raw, body = raw[1+chunk:], body-chunk
		}
		if raw[0] >= 224 && raw[0] != 255 {
			t.Fatalf("body %d: last length is partial (%#x)", n, raw[0])
		}
		_, got, rest := pgptest.SplitPacket(t, b.Bytes())
		if len(rest) != 0 || !bytes.Equal(got, append([]byte{idZIP}, data...)) {
			t.Fatalf("body %d: framed body differs", n)
		}
	}
	alice, bob := newEntity(t, "Alice Frames", nil), newEntity(t, "Bob Frames", nil)
	for _, n := range []int{0, 1, chunk - 1, chunk, chunk + 1, 2*chunk - 1, 2 * chunk, 2*chunk + 1} {
		plain := make([]byte, n)
		rand.Read(plain)
		ct, err := seal(openpgp.EntityList{alice, bob}, alice, plain, false)
		if err != nil {
			t.Fatal(err)
		}
		s := dissect(t, ct, bob)
		verifyShape(t, s, alice, plain)
		if s.Compression != int(packet.CompressionZIP) || !slices.Equal(s.Outer[len(s.Outer)-1:], []string{"SEIPD v1"}) {
			t.Errorf("n=%d: %+v", n, s)
		}
		md, err := openpgp.ReadMessage(bytes.NewReader(ct), openpgp.EntityList{bob, alice}, nil, attackCfg())
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(md.UnverifiedBody); err != nil || !bytes.Equal(got, plain) || md.SignatureError != nil || md.Signature == nil || !md.IsSigned {
			t.Errorf("n=%d: go-crypto ReadMessage: %v, signature %v", n, err, md.SignatureError)
		}
	}
}

// TestAttackTamper: flipping any byte of the ciphertext body (inside the
// partial-length compressed packet or the signature) makes go-crypto's
// reader fail: the MDC covers everything signEncrypt writes.
func TestAttackTamper(t *testing.T) {
	alice, bob := newEntity(t, "Alice Tamper", nil), newEntity(t, "Bob Tamper", nil)
	plain := make([]byte, 3<<16)
	rand.Read(plain)
	ct, err := seal(openpgp.EntityList{alice, bob}, alice, plain, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{len(ct) - 1, len(ct) - 22, len(ct) - 200, len(ct) / 2, len(ct) - 1<<16} {
		bad := bytes.Clone(ct)
		bad[off] ^= 0x01
		md, err := openpgp.ReadMessage(bytes.NewReader(bad), openpgp.EntityList{bob}, nil, attackCfg())
		if err == nil {
			_, err = io.ReadAll(md.UnverifiedBody)
			if err == nil && md.SignatureError == nil {
				t.Errorf("byte %d of %d flipped: read without an error", off, len(ct))
			}
		}
	}
}

// TestAttackGnuPGStatus: GnuPG 2.2 decrypts and verifies signEncrypt's
// output, reporting DECRYPTION_OKAY, GOODMDC, GOODSIG and VALIDSIG with
// the signer's fingerprint, for Ed25519/Cv25519 and RSA-3072 keys and a
// message to several recipients, each of whom decrypts it.
func TestAttackGnuPGStatus(t *testing.T) {
	rsaCfg := func(c *packet.Config) { c.Algorithm, c.RSABits = packet.PubKeyAlgoRSA, 3072 }
	ed := newEntity(t, "Alice Gpg", nil)
	rsa := newEntity(t, "Rsa Gpg", rsaCfg)
	bob := newEntity(t, "Bob Gpg", nil)
	carol := withPrefs(newEntity(t, "Carol Gpg", rsaCfg), []uint8{idAES128, idAES256}, []uint8{idSHA512, idSHA256}, []uint8{idZLIB, idZIP, idNone})
	type tc struct {
		name   string
		signer *openpgp.Entity
		to     openpgp.EntityList
	}
	plain := make([]byte, 200<<10)
	rand.Read(plain)
	for _, c := range []tc{
		{"ed25519", ed, openpgp.EntityList{ed, bob}},
		{"rsa-3072", rsa, openpgp.EntityList{rsa}},
		{"several recipients", ed, openpgp.EntityList{ed, rsa, bob}},
		{"rsa signer, ed25519 recipient", rsa, openpgp.EntityList{rsa, bob}},
	} {
		ct, err := seal(c.to, c.signer, plain, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range c.to {
			g := pgptest.New(t)
			g.Import(armoredEntity(t, c.signer, false))
			g.Import(armoredEntity(t, r, true))
			out, stderr, err := g.Try(ct, "--status-fd", "2", "--decrypt")
			if err != nil {
				t.Fatalf("%s, %s: gpg --decrypt: %v\n%s", c.name, r.PrimaryIdentity().Name, err, stderr)
			}
			if !bytes.Equal(out, plain) {
				t.Errorf("%s: decrypted data differs", c.name)
			}
			fpr := strings.ToUpper(fmt.Sprintf("%x", c.signer.PrimaryKey.Fingerprint))
			for _, want := range []string{"[GNUPG:] DECRYPTION_OKAY", "[GNUPG:] GOODMDC", "[GNUPG:] GOODSIG ", "[GNUPG:] VALIDSIG "} {
				if !strings.Contains(string(stderr), want) {
					t.Errorf("%s, %s: no %q\n%s", c.name, r.PrimaryIdentity().Name, want, stderr)
				}
			}
			if !strings.Contains(string(stderr), fpr) {
				t.Errorf("%s: VALIDSIG without the signer's fingerprint %s\n%s", c.name, fpr, stderr)
			}
		}
	}
	// Carol's preferences (AES-128, SHA-512 first) are honoured by both
	// writers alike; gpg reads the result.
	ct, err := seal(openpgp.EntityList{ed, carol}, ed, plain, false)
	if err != nil {
		t.Fatal(err)
	}
	g := pgptest.New(t)
	g.Import(armoredEntity(t, ed, false))
	g.Import(armoredEntity(t, carol, true))
	if out, stderr, err := g.Try(ct, "--status-fd", "2", "--decrypt"); err != nil || !bytes.Equal(out, plain) || !strings.Contains(string(stderr), "GOODMDC") || !strings.Contains(string(stderr), "GOODSIG") {
		t.Errorf("carol: %v\n%s", err, stderr)
	}
}

// armoredEntity serializes e (TEST ONLY), its secret keys unprotected when
// secret.
func armoredEntity(t *testing.T, e *openpgp.Entity, secret bool) []byte {
	t.Helper()
	var b bytes.Buffer
	typ := openpgp.PublicKeyType
	if secret {
		typ = openpgp.PrivateKeyType
	}
	w, err := armor.Encode(&b, typ, nil)
	if err != nil {
		t.Fatal(err)
	}
	if secret {
		err = e.SerializePrivateWithoutSigning(w, nil)
	} else {
		err = e.Serialize(w)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestAttackArmorMatchesGoCrypto: for every length up to 3000 bytes and
// lengths up to 200 KB around lines, quanta and the output buffer, the
// armor writer's base64 and CRC-24 line are those of go-crypto's
// armor.Encode (which breaks lines at 64 with LF where we break at 76 with
// CRLF), and go-crypto's armor.Decode, which checks the CRC, reads back
// the data.
func TestAttackArmorMatchesGoCrypto(t *testing.T) {
	data := make([]byte, 200<<10+1)
	rand.Read(data)
	sizes := []int{}
	for n := 0; n <= 3000; n++ {
		sizes = append(sizes, n)
	}
	for n := 3001; n < len(data); n += 997 {
		sizes = append(sizes, n)
	}
	for _, k := range []int{57 * 862, 57 * 1149, 64 << 10, 128 << 10, 200 << 10} {
		sizes = append(sizes, k-1, k, k+1)
	}
	for _, n := range sizes {
		var ours, theirs bytes.Buffer
		w := newArmorWriter(&ours, "PGP MESSAGE")
		if _, err := w.Write(data[:n]); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		gw, err := armor.Encode(&theirs, "PGP MESSAGE", nil)
		if err != nil {
			t.Fatal(err)
		}
		gw.Write(data[:n])
		gw.Close()
		o, th := armorParts(ours.String(), "\r\n", 76), armorParts(theirs.String(), "\n", 64)
		if o.err != nil || th.err != nil {
			t.Fatalf("n=%d: ours %v, go-crypto %v", n, o.err, th.err)
		}
		if o.b64 != th.b64 || o.crc != th.crc || o.headers != "" {
			t.Fatalf("n=%d: base64 equal %v, crc %q vs %q, headers %q", n, o.b64 == th.b64, o.crc, th.crc, o.headers)
		}
		if want := base64.StdEncoding.EncodeToString(data[:n]); o.b64 != want {
			t.Fatalf("n=%d: base64 differs from encoding/base64", n)
		}
		blk, err := armor.Decode(bytes.NewReader(ours.Bytes()))
		if err != nil {
			t.Fatalf("n=%d: armor.Decode: %v", n, err)
		}
		if got, err := io.ReadAll(blk.Body); err != nil || !bytes.Equal(got, data[:n]) {
			t.Fatalf("n=%d: armor.Decode read %d bytes, %v", n, len(got), err)
		}
	}
}

type armorSplit struct {
	headers, b64, crc string
	err               error
}

// armorParts splits an armored block written with line ending eol and
// lines of at most width characters into its header lines, its base64
// (joined) and its CRC line, checking the frame strictly. (go-crypto ends
// the END line without a line break and writes an empty line for no data.)
func armorParts(s, eol string, width int) (p armorSplit) {
	lines := strings.Split(strings.TrimSuffix(s, eol), eol)
	if len(lines) < 4 || lines[0] != "-----BEGIN PGP MESSAGE-----" || lines[len(lines)-1] != "-----END PGP MESSAGE-----" {
		p.err = errors.New("bad frame")
		return p
	}
	i := 1
	for ; lines[i] != ""; i++ {
		p.headers += lines[i] + "\n"
	}
	body := lines[i+1 : len(lines)-1]
	if len(body) > 0 && body[0] == "" {
		body = body[1:]
	}
	if len(body) == 0 {
		p.err = errors.New("no CRC line")
		return p
	}
	p.crc = body[len(body)-1]
	if !strings.HasPrefix(p.crc, "=") || len(p.crc) != 5 {
		p.err = fmt.Errorf("bad CRC line %q", p.crc)
		return p
	}
	for j, l := range body[:len(body)-1] {
		if len(l) > width || (j < len(body)-2 && len(l) != width) || l == "" || strings.ContainsAny(l, "\r\n") {
			p.err = fmt.Errorf("bad line %d %q", j, l)
			return p
		}
	}
	p.b64 = strings.Join(body[:len(body)-1], "")
	return p
}

// TestAttackGnuPGKeys: keys GnuPG 2.2 generates itself (RSA-3072 and
// Ed25519/Cv25519, with GnuPG's preference lists: AES256 AES192 AES
// CAST5, SHA512 ... SHA1, ZLIB BZIP2 ZIP) as recipients: signEncrypt
// writes the same shape as openpgp.Encrypt, and gpg decrypts and verifies
// it (DECRYPTION_OKAY, GOODMDC, GOODSIG, VALIDSIG).
func TestAttackGnuPGKeys(t *testing.T) {
	g := pgptest.New(t)
	// Made an hour before attackNow, the time both writers encrypt at.
	past := fmt.Sprintf("%d!", attackNow.Add(-time.Hour).Unix())
	g.Run(nil, "--faked-system-time", past, "--passphrase", "", "--quick-gen-key", "Rsa Gnupg <rsa@test.invalid>", "rsa3072", "sign,cert", "never")
	g.Run(nil, "--faked-system-time", past, "--passphrase", "", "--quick-add-key", string(g.Fingerprint("rsa@test.invalid")), "rsa3072", "encr", "never")
	g.Run(nil, "--faked-system-time", past, "--passphrase", "", "--quick-gen-key", "Ed Gnupg <ed@test.invalid>", "ed25519", "sign,cert", "never")
	g.Run(nil, "--faked-system-time", past, "--passphrase", "", "--quick-add-key", string(g.Fingerprint("ed@test.invalid")), "cv25519", "encr", "never")
	secret := g.Run(nil, "--pinentry-mode", "loopback", "--passphrase", "", "--armor", "--export-secret-keys")
	keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(secret))
	if err != nil || len(keys) != 2 {
		t.Fatalf("read gpg's keys: %d, %v", len(keys), err)
	}
	alice := newEntity(t, "Alice Sender", nil)
	g.Import(armoredEntity(t, alice, false))
	plain := make([]byte, 150<<10)
	rand.Read(plain[:50<<10])
	copy(plain[50<<10:], bytes.Repeat([]byte("QUJD\r\n"), 100<<10/6))
	for _, to := range []openpgp.EntityList{{alice, keys[0]}, {alice, keys[1]}, {alice, keys[0], keys[1]}} {
		got, err := seal(to, alice, plain, false)
		if err != nil {
			t.Fatal(err)
		}
		want, err := seal(to, alice, plain, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range to[1:] {
			gs, ws := dissect(t, got, r), dissect(t, want, r)
			verifyShape(t, gs, alice, plain)
			gs.data, gs.key, gs.sig, ws.data, ws.key, ws.sig = nil, nil, nil, nil, nil, nil
			if fmt.Sprint(gs) != fmt.Sprint(ws) {
				t.Errorf("for %s:\nsignEncrypt     %+v\nopenpgp.Encrypt %+v", r.PrimaryIdentity().Name, gs, ws)
			}
			if gs.Compression != int(packet.CompressionZIP) {
				t.Errorf("for %s: not ZIP-compressed though every key lists ZIP", r.PrimaryIdentity().Name)
			}
		}
		out, stderr, err := g.Try(got, "--status-fd", "2", "--decrypt")
		if err != nil || !bytes.Equal(out, plain) {
			t.Fatalf("gpg --decrypt: %v, equal %v\n%s", err, bytes.Equal(out, plain), stderr)
		}
		for _, want := range []string{"[GNUPG:] DECRYPTION_OKAY", "[GNUPG:] GOODMDC", "[GNUPG:] GOODSIG ", "[GNUPG:] VALIDSIG "} {
			if !strings.Contains(string(stderr), want) {
				t.Errorf("no %q\n%s", want, stderr)
			}
		}
	}
}
