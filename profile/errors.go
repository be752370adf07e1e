package profile

import (
	"errors"
	"fmt"
)

// Kinds of profile file error. A *FieldError wraps exactly one of them.
var (
	// ErrSyntax: the file is not valid TOML.
	ErrSyntax = errors.New("not valid TOML")
	// ErrUnknownField: a field the format does not define (often a typo).
	ErrUnknownField = errors.New("unknown field")
	// ErrMissingField: a required field is absent.
	ErrMissingField = errors.New("required field is missing")
	// ErrWrongType: a field has the wrong TOML type.
	ErrWrongType = errors.New("wrong type")
	// ErrInvalidValue: a field's value is not allowed.
	ErrInvalidValue = errors.New("invalid value")
)

// FieldError is a problem with one field of a profile file.
type FieldError struct {
	// Field is the dotted field name, with a 1-based index for directory
	// and account entries: "policy.min_tls", "recipient[2].email".
	Field string
	// Line is the 1-based line in the file, 0 when unknown.
	Line int
	// Kind is one of the Err* kinds above.
	Kind error
	// Detail says what is wrong and what is expected.
	Detail string
}

func (e *FieldError) Error() string {
	where := "profile"
	if e.Line > 0 {
		where = fmt.Sprintf("profile: line %d", e.Line)
	}
	field := ""
	if e.Field != "" {
		field = " " + e.Field + ":"
	}
	msg := e.Kind.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return fmt.Sprintf("%s:%s %s", where, field, msg)
}

// Unwrap returns the kind.
func (e *FieldError) Unwrap() error { return e.Kind }

// Errors of signature verification and loading. Load and Verify wrap one of
// these; the messages are meant for the person at the screen.
var (
	// ErrUnsigned: the profile has no signature file.
	ErrUnsigned = errors.New("the organisation profile is not signed; securesend will not start with an unsigned profile. Ask your administrator to sign it (securesend admin profile sign)")
	// ErrTampered: the signature does not match the profile's content;
	// the file was changed after it was signed.
	ErrTampered = errors.New("the organisation profile has been altered since it was signed; securesend will not start. Ask your administrator for a freshly signed profile")
	// ErrWrongKey: the profile is signed, but not by the organisation key
	// pinned into this installation.
	ErrWrongKey = errors.New("the organisation profile is signed by a key that is not this installation's organisation key; securesend will not start. Ask your administrator")
	// ErrRollback: the profile is older (lower serial) than one already
	// used on this computer.
	ErrRollback = errors.New("the organisation profile is older than one already used on this computer; securesend will not go back to an older profile. Ask your administrator for the current profile")
	// ErrNoPinnedKey: a system-wide profile exists but this build has no
	// pinned organisation key to verify it with.
	ErrNoPinnedKey = errors.New("an organisation profile is installed on this computer, but this copy of securesend has no pinned organisation key to verify it; install the package your administrator built")
)

// ErrNoProfile: this build pins an organisation admin key, but no
// organisation profile was found, neither baked in nor system-wide.
var ErrNoProfile = errors.New("this copy of securesend is built for an organisation (its admin key is pinned), but no organisation profile was found; securesend will not run without the organisation's policy. Ask your administrator to install the profile")
