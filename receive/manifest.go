package receive

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/securesend/securesend/internal/manifest"
)

// manifestPart is one manifest part met while the message was read.
type manifestPart struct {
	// covered: the part was inside the content a signature covers (the
	// signed part of multipart/signed, or the plaintext of a signed
	// OpenPGP message).
	covered bool
	m       *manifest.Manifest // nil when err is set
	err     error              // why it could not be parsed
}

// manifestPart reads a manifest part (bounded by manifest.MaxSize; the
// rest of an oversized part is read and discarded) and records it. It is
// never a document nor part of the note. Only a read error of the
// message's content is returned; an invalid manifest is recorded and
// judged after the verdict.
func (v *verifier) manifestPart(r io.Reader) error {
	m, err := manifest.Parse(r)
	if _, derr := io.Copy(io.Discard, r); derr != nil {
		return derr
	}
	if err != nil && !errors.Is(err, manifest.ErrInvalid) {
		return errors.Unwrap(err) // "manifest: read: ...": the content's own read error
	}
	v.manifests = append(v.manifests, manifestPart{covered: v.signedScope > 0, m: m, err: err})
	return nil
}

// noManifest is the remark on a signed message without a manifest.
const noManifest = "This message carries no securesend manifest (it was probably sent by another mail program): its documents are covered by the signature, but there is no signed list of them (patient NHI, document type, hashes) to check them against."

// judgeManifest checks the manifest after the verdict on the signature:
// a signed message whose manifest is missing is only remarked on; one
// with more than one manifest, a manifest outside the signed content, an
// unreadable manifest, or a manifest that disagrees with the message
// (Message-ID, recipients, documents) is BadSignature, withheld. A good
// manifest under a signature that was checked (the key was in the store
// or carried by the message) is put in the Report.
func (v *verifier) judgeManifest(sig signature) {
	r := v.rep
	if !r.Verdict.Releasable() {
		return
	}
	if !sig.present {
		if len(v.manifests) > 0 {
			r.Remarks = append(r.Remarks, "The message carries a securesend manifest that no signature covers; it was ignored.")
		}
		return
	}
	if len(v.manifests) == 0 {
		r.Remarks = append(r.Remarks, noManifest)
		return
	}
	if len(v.manifests) > 1 {
		v.manifestMismatch("The message carries more than one list of its documents (manifest); securesend sends exactly one, so it cannot tell which is true.")
		return
	}
	mp := v.manifests[0]
	if !mp.covered {
		v.manifestMismatch("The list of documents (manifest) is outside the signed part of the message; anyone could have added it.")
		return
	}
	if sig.signer == nil {
		// Signed by a key securesend does not have at all: neither the
		// signature nor the header fields and manifest it would cover
		// could be checked; the verdict (UnknownSigner) says so.
		return
	}
	if errors.Is(mp.err, manifest.ErrVersion) {
		r.Remarks = append(r.Remarks, "This message's manifest is of a newer version than this securesend reads, so its documents were not checked against it: update securesend.")
		return
	}
	if mp.err != nil {
		field := ""
		var me *manifest.Error
		if errors.As(mp.err, &me) && schemaField(me.Field) {
			field = " (" + me.Field + ")"
		}
		v.manifestMismatch(fmt.Sprintf("The signed list of documents (manifest) is not valid%s, so the documents cannot be checked against it.", field))
		return
	}
	mf := mp.m
	if mf.MessageID != r.MessageID {
		v.manifestMismatch("The signed list of documents (manifest) names a different Message-ID from the message's own; it may belong to another message.")
		return
	}
	if reason := v.recipientsDiffer(mf); reason != "" {
		v.manifestMismatch(reason)
		return
	}
	if reason := v.documentsDiffer(mf); reason != "" {
		v.manifestMismatch("The documents do not match the signed list (manifest): " + reason + " Do not act on this message; ask the sender to send it again.")
		return
	}
	r.Manifest = mf
	if mf.PatientNHI != "" && strings.HasPrefix(mf.PatientNHI, "Z") {
		r.Remarks = append(r.Remarks, "The patient NHI in the manifest is a test number (it starts with Z), not a real patient's.")
	}
}

// recipientsDiffer compares the manifest's recipients with the signed
// To and Cc as sets of addresses; "" when they agree.
func (v *verifier) recipientsDiffer(mf *manifest.Manifest) string {
	r := v.rep
	if !r.Signed.To && !r.Signed.Cc {
		return "The signed list of documents (manifest) names recipients, but the signed header fields name none; they must agree."
	}
	norm := func(as []string) []string {
		out := make([]string, 0, len(as))
		for _, a := range as {
			out = append(out, strings.ToLower(a))
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	if !slices.Equal(norm(append(slices.Clone(r.To), r.Cc...)), norm(mf.Recipients)) {
		return "The recipients in the signed list of documents (manifest) differ from the signed To and Cc; the message may have been re-addressed."
	}
	return ""
}

// documentsDiffer compares the documents read with the manifest's, in
// order: the same number, and each with the same (sanitized) name, media
// type, size and SHA-256. The reason names documents by number only,
// never by what the message calls them.
func (v *verifier) documentsDiffer(mf *manifest.Manifest) string {
	got := v.stage.docs
	for i, want := range mf.Documents {
		if i >= len(got) {
			return fmt.Sprintf("document %d of the %d listed is missing.", i+1, len(mf.Documents))
		}
		d := got[i].doc
		switch {
		case d.Size != want.Size || d.SHA256 != want.SHA256:
			return fmt.Sprintf("document %d is not the one listed (its content differs).", i+1)
		case d.Name != SanitizeName(want.Name):
			return fmt.Sprintf("document %d has a different name from the one listed.", i+1)
		case !strings.EqualFold(d.ContentType, want.ContentType):
			return fmt.Sprintf("document %d has a different type from the one listed.", i+1)
		}
	}
	if len(got) > len(mf.Documents) {
		return fmt.Sprintf("the message holds %d documents, but the list names %d.", len(got), len(mf.Documents))
	}
	return ""
}

// manifestMismatch makes the verdict BadSignature with reason: the
// signed content contradicts itself, so none of it is released.
func (v *verifier) manifestMismatch(reason string) {
	r := v.rep
	r.Verdict, r.Reason = BadSignature, reason
	r.SignerUserID, r.SignerKey, r.Manifest, r.Remarks, r.Impostor = "", "", nil, nil, false
	v.showOuter()
}

// schemaField reports whether f looks like a field path of the schema
// ("documents[1].sha256"), so that a reason may name it: it is made only
// of lower-case letters, digits, '_', '.', '[' and ']'.
func schemaField(f string) bool {
	if f == "" || len(f) > 64 {
		return false
	}
	for i := 0; i < len(f); i++ {
		if c := f[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_.[]", c) >= 0) {
			return false
		}
	}
	return true
}
