// Package hpi checks the form of New Zealand Health Provider Index
// identifiers: the Common Person Number of a practitioner (HPI CPN, NNXXXX:
// two digits and four letters) and the facility identifier (HPI FAC ID,
// FXXNNN-C: "F", two letters or digits, three digits, a hyphen and a check
// character).
//
// It checks the form only: it does not compute the facility ID's check
// character and cannot tell whether an identifier has been issued. The
// letters I and O are refused in letter positions, as the HPI never issues
// them (they read as 1 and 0).
package hpi

import (
	"errors"
	"fmt"
	"strings"
)

// ParseCPN returns the HPI Common Person Number s in upper case without
// surrounding spaces, or an error that says in plain words what is wrong.
func ParseCPN(s string) (string, error) {
	v := strings.ToUpper(strings.TrimSpace(s))
	if v == "" {
		return "", errors.New("the HPI CPN is empty")
	}
	if len(v) != 6 {
		return "", fmt.Errorf("an HPI CPN has 6 characters (two digits, four letters, like 91ZZWJ), this one has %d", len(v))
	}
	for i := 0; i < 2; i++ {
		if !isDigit(v[i]) {
			return "", fmt.Errorf("an HPI CPN starts with two digits (like 91ZZWJ); character %d is not a digit", i+1)
		}
	}
	for i := 2; i < 6; i++ {
		if !isLetter(v[i]) {
			return "", fmt.Errorf("an HPI CPN ends with four letters other than I and O (like 91ZZWJ); character %d is not one", i+1)
		}
	}
	return v, nil
}

// ParseFacility returns the HPI facility identifier s in upper case
// without surrounding spaces, or an error that says in plain words what
// is wrong.
func ParseFacility(s string) (string, error) {
	v := strings.ToUpper(strings.TrimSpace(s))
	if v == "" {
		return "", errors.New("the HPI facility ID is empty")
	}
	if len(v) != 8 || v[0] != 'F' || v[6] != '-' {
		return "", errors.New("an HPI facility ID has the form FXXNNN-C (like F2N060-E)")
	}
	for i := 1; i < 3; i++ {
		if !isDigit(v[i]) && !isLetter(v[i]) {
			return "", fmt.Errorf("characters 2 and 3 of an HPI facility ID are letters (not I or O) or digits; character %d is not", i+1)
		}
	}
	for i := 3; i < 6; i++ {
		if !isDigit(v[i]) {
			return "", fmt.Errorf("characters 4 to 6 of an HPI facility ID are digits; character %d is not", i+1)
		}
	}
	if !isDigit(v[7]) && !isLetter(v[7]) {
		return "", errors.New("the check character (after the hyphen) of an HPI facility ID is a letter (not I or O) or a digit")
	}
	return v, nil
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' && c != 'I' && c != 'O' }
