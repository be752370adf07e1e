// Package strictjson reads the JSON parts of securesend's signed messages
// (the manifest, the acknowledgement) so that every reader of the same
// bytes reads the same values.
//
// encoding/json is lenient where signed data must not be: it keeps the
// last of two values given for one key, and it matches an object's keys
// to struct fields without regard to case, folding the Kelvin sign
// (U+212A) to k and the long s (U+017F) to s. A document holding both
// "patient_nhi" and "PATIENT_NHI" (or "\u017fize" beside "size") would be
// read one way by encoding/json and another by a stricter reader. Check
// refuses such a document before it is decoded; Decode then decodes it,
// refusing keys the target does not define.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// The reasons Check and Decode refuse a document. Each error's text is a
// predicate ("is not valid JSON") that callers may put after their own
// name for the document; none quotes the document.
var (
	ErrUTF8       = errors.New("is not valid UTF-8")
	ErrSyntax     = errors.New("is not valid JSON")
	ErrNotObject  = errors.New("is not a JSON object")
	ErrTrailing   = errors.New("has data after the JSON object")
	ErrDepth      = errors.New("is nested too deeply")
	ErrKeyForm    = errors.New("names a key that is not lower-case ASCII (a-z, 0-9, _)")
	ErrDuplicate  = errors.New("names a key twice")
	ErrUnknownKey = errors.New("has a field its version does not define")
)

// TypeError is Decode's error for a value of the wrong JSON type. Field
// is the dotted path of the field in the target's JSON names.
type TypeError struct {
	Field string
}

func (e *TypeError) Error() string { return e.Field + " has the wrong type" }

// Check refuses data unless it is exactly one JSON object, in valid
// UTF-8, with no value nested more than maxDepth arrays or objects deep,
// no object naming a key twice, and every key made only of a-z, 0-9 and
// "_" (so that neither case-insensitive matching nor Unicode folding can
// make two keys name one field). Keys are compared after JSON unescaping,
// so "\u0073ize" is "size". It returns one of the errors above.
func Check(data []byte, maxDepth int) error {
	if !utf8.Valid(data) {
		return ErrUTF8
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return ErrSyntax
	}
	if tok != json.Delim('{') {
		return ErrNotObject
	}
	if err := walkObject(dec, 1, maxDepth); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrTrailing
	}
	return nil
}

// walkObject reads the rest of an object whose '{' has been read, at
// nesting depth.
func walkObject(dec *json.Decoder, depth, maxDepth int) error {
	if depth > maxDepth {
		return ErrDepth
	}
	seen := map[string]bool{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return ErrSyntax
		}
		key, _ := k.(string)
		if !lowerKey(key) {
			return ErrKeyForm
		}
		if seen[key] {
			return ErrDuplicate
		}
		seen[key] = true
		if err := walkValue(dec, depth, maxDepth); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return ErrSyntax
	}
	return nil
}

// walkValue reads one value inside a container at depth.
func walkValue(dec *json.Decoder, depth, maxDepth int) error {
	tok, err := dec.Token()
	if err != nil {
		return ErrSyntax
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec, depth+1, maxDepth)
	case json.Delim('['):
		if depth+1 > maxDepth {
			return ErrDepth
		}
		for dec.More() {
			if err := walkValue(dec, depth+1, maxDepth); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return ErrSyntax
		}
	}
	return nil
}

// lowerKey reports whether key is not empty and made only of a-z, 0-9
// and "_".
func lowerKey(key string) bool {
	for i := 0; i < len(key); i++ {
		if c := key[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return key != ""
}

// Decode decodes data, which Check has accepted, into v, refusing a key
// that v does not define (ErrUnknownKey) and a value of the wrong type
// (*TypeError). Any other failure is ErrSyntax.
func Decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return &TypeError{Field: ute.Field}
		}
		// encoding/json has no typed error for an unknown field; its
		// message quotes the key (content), so it is not passed on.
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			return ErrUnknownKey
		}
		return ErrSyntax
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrTrailing
	}
	return nil
}
