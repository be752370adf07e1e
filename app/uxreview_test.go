package app

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/securesend/securesend/receive"
)

// TestChosenDocumentTypeReachesThePharmacist: the document type the
// receptionist picks on the Send tab is the signed manifest's type, so the
// pharmacist's Inbox row says "Document type: referral" for a referral,
// not the manifest's default "document" beside a "Referral" subject.
func TestChosenDocumentTypeReachesThePharmacist(t *testing.T) {
	for _, tc := range []struct {
		choice, nhi, subject, manifest string
	}{
		{"Prescription", "ZZZ0016", "Prescription", "prescription"},
		{"Referral", "ZZZ00AC", "Referral", "referral"},
		{"Other", "ZZZ0016", "Other", "document"},
	} {
		t.Run(tc.choice, func(t *testing.T) {
			u := newDemoUI(t, nil)
			s := u.send
			addSamples(t, s)
			s.docType.SetSelected(tc.choice)
			test.Type(s.nhiEntry, tc.nhi)
			sent := expect(&s.sendDone)
			pressSend(t, s)
			await(t, "send", sent)
			if !s.confirm.root.Visible() {
				t.Fatalf("not sent: %s", texts(s.problem))
			}

			in := u.inbox
			fetched := expect(&in.fetchDone)
			test.Tap(in.check)
			await(t, "fetch", fetched)
			if len(in.items) != 1 {
				t.Fatalf("inbox has %d messages; status %q", len(in.items), in.status.Text)
			}
			rep := in.items[0].Report
			if rep.Verdict != receive.Verified || rep.Manifest == nil {
				t.Fatalf("verdict %s (%s), manifest %v", rep.Verdict, rep.Reason, rep.Manifest)
			}
			if rep.Manifest.DocumentType != tc.manifest || rep.Subject != tc.subject {
				t.Errorf("signed document type %q, subject %q; want %q, %q", rep.Manifest.DocumentType, rep.Subject, tc.manifest, tc.subject)
			}
			want := "Patient NHI: " + tc.nhi + " · Document type: " + tc.manifest
			if got := manifestLine(rep); got != want {
				t.Errorf("inbox row %q, want %q", got, want)
			}
			in.list.Select(0)
			if d := texts(in.detail); !strings.Contains(d, "Document type: "+tc.manifest) {
				t.Errorf("detail lacks the document type %q:\n%s", tc.manifest, d)
			}
		})
	}
}
