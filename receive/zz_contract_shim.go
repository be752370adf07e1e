package receive

// TEMPORARY SHIM on branch h-front only: the names the verification
// engineer is adding to package receive (issue 12), so the front ends
// compile against them before that branch is merged. Delete this file,
// and the two embedded fields marked "contract shim" in report.go and
// verify.go, when merging.

// NotAddressed: a good signature from the pinned key, but the signed part
// names recipients and none of them is the user (forwarded or replayed).
const NotAddressed Verdict = "not-addressed-to-you"

// Releasable reports whether anything from inside the message may be
// shown or stored as openable under this verdict.
func (v Verdict) Releasable() bool { return v != CannotDecrypt && v != BadSignature }

// Colour is "green", "amber" or "red".
func (v Verdict) Colour() string {
	switch v {
	case Verified:
		return "green"
	case UnknownSigner, NotSigned, NotAddressed:
		return "amber"
	}
	return "red"
}

// SignedFields says which shown header fields came from the signed part.
type SignedFields struct {
	From      bool `json:"from"`
	To        bool `json:"to"`
	Cc        bool `json:"cc"`
	Subject   bool `json:"subject"`
	Date      bool `json:"date"`
	MessageID bool `json:"message_id"`
}

// HeaderField is one header field as the message carried it.
type HeaderField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type reportContract struct {
	To          []string      `json:"to,omitempty"`
	Cc          []string      `json:"cc,omitempty"`
	Signed      SignedFields  `json:"signed"`
	Unprotected []HeaderField `json:"unprotected,omitempty"`
	Withheld    bool          `json:"withheld,omitempty"`
	Impostor    bool          `json:"impostor,omitempty"`
	Remarks     []string      `json:"remarks,omitempty"`
}

type verifyOptionsContract struct {
	Recipients []string
	StagingDir string
}
