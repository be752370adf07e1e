package desk

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/securesend/securesend/internal/nhi"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// Field is one labelled value to show, already made safe for a terminal
// or a label (termsafe).
type Field struct {
	Label string
	Value string
}

// Manifest labels, as the CLI and the app show them.
const (
	LabelPatientNHI   = "Patient NHI"
	LabelDocumentType = "Document type"
	LabelPrescriber   = "Prescriber"
	LabelFacility     = "Facility HPI"
)

// ManifestFields are the fields of r's signed manifest to show beside the
// verdict, in order: the patient NHI and the document type (always, "not
// given" for a manifest without an NHI), then the prescriber and the
// facility when the sender gave them. None for a report without a
// manifest, which receive sets only when a signature covers it and it
// agrees with the message, nor for a withheld one.
func ManifestFields(r *receive.Report) []Field {
	if r == nil || r.Manifest == nil || Withheld(r) {
		return nil
	}
	mf := r.Manifest
	patient := "not given"
	if mf.PatientNHI != "" {
		patient = termsafe.String(mf.PatientNHI)
	}
	out := []Field{
		{LabelPatientNHI, patient},
		{LabelDocumentType, termsafe.String(mf.DocumentType)},
	}
	if p := mf.Prescriber; p != nil {
		v := termsafe.String(p.Name)
		switch {
		case v == "":
			v = "HPI CPN " + termsafe.String(p.CPN)
		case p.CPN != "":
			v += fmt.Sprintf(" (HPI CPN %s)", termsafe.String(p.CPN))
		}
		out = append(out, Field{LabelPrescriber, v})
	}
	if mf.FacilityHPI != "" {
		out = append(out, Field{LabelFacility, termsafe.String(mf.FacilityHPI)})
	}
	return out
}

// ManifestSummary is the manifest in one short phrase for a list row:
// "prescription, NHI ZZZ0016" (or just the document type without an NHI);
// "" without a manifest or for a withheld report.
func ManifestSummary(r *receive.Report) string {
	if r == nil || r.Manifest == nil || Withheld(r) {
		return ""
	}
	s := termsafe.String(r.Manifest.DocumentType)
	if n := r.Manifest.PatientNHI; n != "" {
		s += ", NHI " + termsafe.String(n)
	}
	return s
}

// Failures are the messages a fetch could not fetch, verify or store,
// oldest first (receive.Store.Failures). Their Error texts can quote a
// server or a message: make them safe before showing them.
func (d *Desk) Failures() ([]receive.Failure, error) {
	st, err := d.Inbox()
	if err != nil {
		return nil, err
	}
	return st.Failures()
}

// FailureLine describes one message a fetch could not fetch, verify or
// store, in one line safe for a terminal or a label (control and bidi
// characters become '?', at most 300 characters of each value): "ACCOUNT
// MAILBOX UID n: STAGE failed (attempt 1 of 3, tried again at the next
// fetch): ERROR".
func FailureLine(f receive.Failure) string {
	state := fmt.Sprintf("attempt %d of %d, tried again at the next fetch", f.Attempts, receive.MaxFetchAttempts)
	if f.GaveUp {
		state = fmt.Sprintf("given up after %d attempts; ask the sender to send it again", f.Attempts)
	}
	return fmt.Sprintf("%s %s UID %d: %s failed (%s): %s", lineSafe(f.Source.Account), lineSafe(f.Source.Mailbox), f.Source.UID, lineSafe(f.Stage), state, lineSafe(f.Error))
}

// lineSafe replaces control characters (escape sequences, bidi
// overrides) and invalid UTF-8 with '?' and keeps at most 300 characters.
func lineSafe(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == 300 {
			b.WriteString("...")
			break
		}
		n++
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == utf8.RuneError {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// checkPatientNHI refuses a test NHI (one starting with Z) outside demo
// mode: real patients' documents never carry one, and demo documents
// never leave the demo.
// The NHI itself is not repeated in the error, which may be logged.
func (d *Desk) checkPatientNHI(s string) error {
	if s == "" {
		return nil
	}
	if _, err := nhi.Check(s, d.mail != nil); err != nil {
		return &Refused{msg: "the patient NHI cannot be sent: " + err.Error(), Err: errors.Join(send.ErrInvalidMessage, err)}
	}
	return nil
}
