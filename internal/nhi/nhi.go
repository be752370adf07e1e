// Package nhi validates New Zealand National Health Index numbers as
// HISO 10046:2023 describes them: the original format AAANNNC (three letters,
// three digits, a modulus-11 check digit) and the new format AAANNAX (three
// letters, two digits, a letter, a modulus-23 check letter). The letters I
// and O are never used. NHIs starting with Z are reserved for testing.
//
// It checks form and check character only; it cannot tell whether a number
// has been assigned to a person.
package nhi

import (
	"errors"
	"fmt"
	"strings"
)

// Format is the NHI format a number is written in.
type Format int

const (
	// Old is AAANNNC with a numeric check digit.
	Old Format = iota + 1
	// New is AAANNAX with an alphabetic check character (from July 2026).
	New
)

// ErrTestNumber is returned by Check for a well-formed test NHI (one that
// starts with Z) when test numbers are not allowed.
var ErrTestNumber = errors.New("this is a test NHI (it starts with Z), not a real patient's number")

// Number is a validated NHI.
type Number struct {
	// Value is the NHI in upper case without spaces.
	Value  string
	Format Format
	// Test reports a test NHI (starting with Z).
	Test bool
}

// Parse validates s (case and surrounding or inner spaces ignored) and returns
// the number. Test NHIs are accepted; see Number.Test and Check. The error
// says in plain words what is wrong.
func Parse(s string) (Number, error) {
	v := strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if v == "" {
		return Number{}, errors.New("the NHI is empty")
	}
	if len(v) != 7 {
		return Number{}, fmt.Errorf("an NHI has 7 characters and this one has %d", len(v))
	}
	for i := 0; i < 3; i++ {
		c := v[i]
		switch {
		case c == 'I' || c == 'O':
			return Number{}, fmt.Errorf("character %d is %q, but the letters I and O are never used in an NHI (is it a 1 or a 0?)", i+1, c)
		case c < 'A' || c > 'Z':
			return Number{}, fmt.Errorf("an NHI starts with three letters, but character %d is %q", i+1, c)
		}
	}
	for i := 3; i < 5; i++ {
		if !isDigit(v[i]) {
			return Number{}, fmt.Errorf("characters 4 and 5 of an NHI are digits, but character %d is %q", i+1, v[i])
		}
	}
	var f Format
	switch {
	case isDigit(v[5]) && isDigit(v[6]):
		f = Old
	case isLetter(v[5]) && isLetter(v[6]):
		f = New
	default:
		return Number{}, errors.New("the last two characters of an NHI are both digits (as in ABC1235) or both letters (as in ABC12DX)")
	}
	for i := 5; i < 7; i++ {
		if v[i] == 'I' || v[i] == 'O' {
			return Number{}, fmt.Errorf("character %d is %q, but the letters I and O are never used in an NHI (is it a 1 or a 0?)", i+1, v[i])
		}
	}
	sum := 0
	for i := 0; i < 6; i++ {
		sum += value(v[i]) * (7 - i)
	}
	if f == Old {
		r := sum % 11
		if r == 0 {
			return Number{}, errors.New("no check digit fits the first six characters, so one is probably mistyped")
		}
		want := (11 - r) % 10
		if got := int(v[6] - '0'); got != want {
			return Number{}, errors.New("the check digit (the last character) does not fit the others, so one is probably mistyped")
		}
	} else {
		want := 23 - sum%23
		if value(v[6]) != want {
			return Number{}, errors.New("the check letter (the last character) does not fit the others, so one is probably mistyped")
		}
	}
	return Number{Value: v, Format: f, Test: v[0] == 'Z'}, nil
}

// Check is Parse that also refuses test NHIs unless allowTest is set (demo
// mode), returning ErrTestNumber for them.
func Check(s string, allowTest bool) (Number, error) {
	n, err := Parse(s)
	if err != nil {
		return n, err
	}
	if n.Test && !allowTest {
		return n, ErrTestNumber
	}
	return n, nil
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' }

// value is a character's value in the check calculation: digits their own
// value, letters A=1 … Z=24 skipping I and O.
func value(c byte) int {
	if isDigit(c) {
		return int(c - '0')
	}
	n := int(c-'A') + 1
	if c > 'I' {
		n--
	}
	if c > 'O' {
		n--
	}
	return n
}
