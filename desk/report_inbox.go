package desk

import (
	"fmt"
	"strings"
	"time"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

// This file is how the command line words what was received: verdicts,
// banners, list rows and reports. Every string from a message or a key
// is made safe for a terminal (termsafe) here, before it is returned.

// verdictLabels are the short upper-case labels of the verdicts.
var verdictLabels = map[receive.Verdict]string{
	receive.Verified:       "VERIFIED",
	receive.UnknownSigner:  "UNKNOWN SIGNER",
	receive.NotSigned:      "NOT SIGNED",
	receive.BadSignature:   "BAD SIGNATURE",
	receive.CannotDecrypt:  "CANNOT DECRYPT",
	receive.SenderMismatch: "SENDER MISMATCH",
	receive.NotAddressed:   "NOT ADDRESSED TO YOU",
}

// verdictLabel is the short upper-case label of a verdict for lists.
func verdictLabel(v receive.Verdict) string {
	if l, ok := verdictLabels[v]; ok {
		return l
	}
	return termsafe.String(strings.ToUpper(string(v)))
}

// Banner is the line of a report that cannot be mistaken.
func Banner(rep *receive.Report) string {
	switch {
	case rep.Impostor:
		return "WARNING, IMPOSTOR: " + termsafe.String(rep.Reason)
	case rep.Verdict == receive.Verified:
		who := rep.SignerUserID
		if who == "" {
			who = rep.From
		}
		return fmt.Sprintf("VERIFIED: signed by %s (key %s), not altered", termsafe.String(who), termsafe.String(rep.SignerFingerprint))
	case rep.Verdict == receive.UnknownSigner:
		return fmt.Sprintf("CAUTION, SIGNED BY AN UNKNOWN KEY %s: compare its fingerprint with the sender before trusting it", termsafe.String(rep.SignerFingerprint))
	case rep.Verdict.Colour() == "amber":
		return "CAUTION, " + verdictLabel(rep.Verdict) + ": " + termsafe.String(rep.Reason)
	}
	return "WARNING, " + verdictLabel(rep.Verdict) + ": " + termsafe.String(rep.Reason)
}

// supersedeWarning is the short mark of a cancelled or replaced item, or
// of a cancellation or replacement that changed nothing, for lists.
func supersedeWarning(it *receive.Item) string {
	switch {
	case it.Superseded != nil && it.Superseded.Kind == manifest.Cancel:
		return "CANCELLED by the sender"
	case it.Superseded != nil:
		return "REPLACED by #" + it.Superseded.ByID
	case it.Supersedes != nil && it.Supersedes.Refused != "":
		return "WARNING: cancels or replaces nothing (see inbox show)"
	}
	return ""
}

// itemWarning is what a list line warns of an item: cancelled or replaced
// by its sender, a duplicate.
func itemWarning(it *receive.Item) string {
	return strings.TrimSpace(supersedeWarning(it) + "  " + DuplicateNote(it))
}

// itemLine is the line of a newly fetched item.
func itemLine(it *receive.Item) string {
	line := fmt.Sprintf("#%s  %-15s  %s  %d document(s)", it.ID, verdictLabel(it.Verdict), termsafe.String(it.From), len(it.Documents))
	if warn := itemWarning(it); warn != "" {
		line += "  " + warn
	}
	return line
}

// InboxRowHeader are the column titles of InboxRow.
var InboxRowHeader = []string{"ID", "RECEIVED", "VERDICT", "FROM", "DOCUMENT TYPE", "PATIENT NHI", "DOCS", "WARNING"}

// InboxRow is the row of r in 'inbox list', its columns those of
// InboxRowHeader. The document type and patient come from the signed
// manifest only.
func InboxRow(r Received) []string {
	it := r.Item
	warn := itemWarning(it)
	if it.Archived != "" {
		warn = strings.TrimSpace(warn + " (archived to " + termsafe.String(it.Archived) + ")")
	}
	docType, patient := "-", "-"
	for _, f := range ManifestFields(r.Report) { // signed, and made safe
		switch f.Label {
		case LabelDocumentType:
			docType = f.Value
		case LabelPatientNHI:
			patient = f.Value
		}
	}
	return []string{it.ID, it.Received.Local().Format("2006-01-02 15:04"), verdictLabel(it.Verdict), termsafe.String(it.From),
		docType, patient, fmt.Sprint(len(it.Documents)), warn}
}

// SupersessionLines are the red lines of 'inbox show' and 'inbox open',
// each followed by an empty line: the item was cancelled or replaced, or
// is a cancellation or replacement (and, in a WARNING, one that changed
// nothing).
func SupersessionLines(it *receive.Item) []string {
	var out []string
	if b := SupersededBanner(it.Superseded); b != "" {
		out = append(out, b, "")
	}
	if note, warn := SupersedesNote(it.Supersedes); note != "" {
		if warn && !strings.HasPrefix(note, "WARNING") {
			note = "WARNING: " + note
		}
		out = append(out, note, "")
	}
	return out
}

// ItemLines are what 'inbox show' prints of r: its banner, the
// supersession lines, the item, the header fields, the content and the
// duplicate warnings.
func ItemLines(r *Received) []string {
	it, rep := r.Item, r.Report // rep: redacted when withheld
	out := append([]string{Banner(rep), ""}, SupersessionLines(it)...)
	out = append(out, fmt.Sprintf("Item:        #%s, received %s", it.ID, it.Received.Local().Format(time.RFC1123)))
	out = append(out, headerLines(rep, it.MessageID)...)
	out = append(out, "Encrypted:   "+yesNo(rep.Encrypted))
	out = append(out, contentLines(rep, "opened")...)
	for i, d := range it.Duplicates {
		when := ""
		if i < len(r.Earlier) && r.Earlier[i] != nil {
			earlier := r.Earlier[i]
			when = fmt.Sprintf(", received %s from %s", earlier.Received.Local().Format("2006-01-02 15:04"), termsafe.String(earlier.From))
		}
		switch d.Kind {
		case "message-id":
			out = append(out, "", fmt.Sprintf("DUPLICATE: this message (same Message-ID) arrived before as item #%s%s.", d.Of, when))
		default:
			out = append(out, "", fmt.Sprintf("DUPLICATE: a document with SHA-256 %s arrived before in item #%s%s. Do not dispense twice.", termsafe.String(d.SHA256), d.Of, when))
		}
	}
	return out
}

// yesNo is "yes" or "no".
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// unprotected labels a header field the signature does not cover.
const unprotected = "(not protected by the signature)"

// headerLine is one header field, made safe, labelled when the signature
// does not cover it.
func headerLine(label, value string, signed bool) string {
	line := fmt.Sprintf("%-12s %s", label+":", termsafe.String(value))
	if !signed {
		line += "  " + unprotected
	}
	return line
}

// headerLines are the message's header fields beside the verdict: each
// one labelled unless the signature covers it, the signed manifest, the
// outer values the signature does not cover, and the impostor warning and
// remarks. For a withheld report only the sender and Message-ID, both
// labelled, and the outer fields.
func headerLines(r *receive.Report, messageID string) []string {
	var out []string
	if r.Impostor {
		out = append(out, "IMPOSTOR WARNING: the signing key claims an address that belongs to a different pinned key. Do not act on this message.")
	}
	held := Withheld(r)
	out = append(out, headerLine("From", r.From, r.Signed.From && !held))
	if !held {
		if len(r.To) > 0 {
			out = append(out, headerLine("To", strings.Join(r.To, ", "), r.Signed.To))
		}
		if len(r.Cc) > 0 {
			out = append(out, headerLine("Cc", strings.Join(r.Cc, ", "), r.Signed.Cc))
		}
		out = append(out, headerLine("Subject", r.Subject, r.Signed.Subject))
		if !r.Date.IsZero() {
			out = append(out, headerLine("Date", r.Date.Format("Mon, 02 Jan 2006 15:04:05 -0700"), r.Signed.Date))
		}
	}
	if messageID != "" {
		out = append(out, headerLine("Message-ID", messageID, r.Signed.MessageID && !held))
	}
	out = append(out, fieldLines(ManifestFields(r), 12)...) // signed, and made safe
	if len(r.Unprotected) > 0 {
		out = append(out, "Outside the signature (not protected, may have been changed by anyone):")
		for _, f := range r.Unprotected {
			out = append(out, fmt.Sprintf("  %s: %s", termsafe.String(f.Name), termsafe.String(f.Value)))
		}
	}
	for _, m := range r.Remarks {
		out = append(out, "Remark:      "+termsafe.String(m))
	}
	return out
}

// contentLines are what a report shows of the inside of the message: its
// note, what was left out and its documents (and where they were saved),
// or for a withheld report that nothing is shown or, with verb, opened or
// extracted.
func contentLines(r *receive.Report, verb string) []string {
	if Withheld(r) {
		return []string{fmt.Sprintf("Documents:   withheld: the message failed its integrity or signature check, so nothing from inside it is shown or %s.", verb)}
	}
	var out []string
	if r.Note != "" {
		out = append(out, "Note:")
		for _, line := range termsafe.Lines(r.Note) {
			out = append(out, "  "+line)
		}
	}
	for _, o := range r.Omitted {
		out = append(out, "Not shown:   "+termsafe.String(o))
	}
	out = append(out, fmt.Sprintf("Documents:   %d", len(r.Documents)))
	for i, d := range r.Documents { // numbered as 'inbox open --doc N' counts
		out = append(out, fmt.Sprintf("  %d. %s  %d bytes  %s  sha256:%s", i+1, termsafe.String(d.Name), d.Size, termsafe.String(d.ContentType), termsafe.String(d.SHA256)))
		if d.Path != "" {
			out = append(out, "     saved to "+termsafe.String(d.Path))
		}
	}
	return out
}

// verdictTitles are the banner words of 'verify' for each verdict.
var verdictTitles = map[receive.Verdict]string{
	receive.Verified:       "VERIFIED",
	receive.UnknownSigner:  "NOT VERIFIED - signed by an unknown key",
	receive.NotSigned:      "NOT VERIFIED - not signed",
	receive.NotAddressed:   "NOT VERIFIED - not addressed to you",
	receive.BadSignature:   "NOT VERIFIED - BAD SIGNATURE",
	receive.CannotDecrypt:  "NOT VERIFIED - cannot decrypt",
	receive.SenderMismatch: "NOT VERIFIED - sender mismatch",
}

// VerifyLines are the report of 'verify' on r (a shown, that is
// redacted, report): the verdict between two bars, the header fields,
// the signer and the content.
func VerifyLines(r *receive.Report) []string {
	bar := strings.Repeat("=", 72)
	title, ok := verdictTitles[r.Verdict]
	if !ok {
		title = "NOT VERIFIED"
	}
	out := []string{bar, fmt.Sprintf("%s (%s)", title, termsafe.String(string(r.Verdict))), termsafe.String(r.Reason), bar}
	out = append(out, headerLines(r, r.MessageID)...)
	out = append(out, fmt.Sprintf("%-12s %s", "Encrypted:", yesNo(r.Encrypted)))
	if r.SignerFingerprint != "" {
		out = append(out, fmt.Sprintf("%-12s %s", "Signer key:", pgp.Fingerprint(termsafe.String(r.SignerFingerprint)).Grouped()))
	}
	if r.SignerUserID != "" {
		out = append(out, fmt.Sprintf("%-12s %s", "Signer:", termsafe.String(r.SignerUserID)))
	}
	if r.SignerKey != "" {
		out = append(out, "The message carries the signer's key: save it with --save-key FILE and,",
			"after comparing the fingerprint with the sender, run",
			"'securesend keys import --pin --email ADDRESS FILE' for the address you confirmed.")
	}
	return append(out, contentLines(r, "extracted")...)
}
