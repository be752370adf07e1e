package desk

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/internal/nhi"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// TestManifestFieldsFromFetchedMail: a fetched message whose signed
// manifest agrees with it shows its patient NHI and document type as
// labelled fields; one whose manifest disagrees (bad signature) shows
// none, and neither does a message without a manifest.
func TestManifestFieldsFromFetchedMail(t *testing.T) {
	d, items, _ := fetchFixtures(t, "good_encrypted_manifest.eml", "bad_signature_manifest_mismatch.eml", "good_signed.eml")
	good, err := d.Received(items["good_encrypted_manifest.eml"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if good.Report.Manifest == nil {
		t.Fatalf("no manifest on %s (%s)", "good_encrypted_manifest.eml", good.Report.Verdict)
	}
	got := ManifestFields(good.Report)
	if len(got) < 2 || got[0].Label != LabelPatientNHI || got[0].Value != good.Report.Manifest.PatientNHI || got[0].Value == "" ||
		got[1].Label != LabelDocumentType || got[1].Value != good.Report.Manifest.DocumentType {
		t.Errorf("fields of a good manifest: %+v", got)
	}
	if s := ManifestSummary(good.Report); !strings.Contains(s, "NHI "+good.Report.Manifest.PatientNHI) {
		t.Errorf("summary: %q", s)
	}
	for _, name := range []string{"bad_signature_manifest_mismatch.eml", "good_signed.eml"} {
		r, err := d.Received(items[name].ID)
		if err != nil {
			t.Fatal(err)
		}
		if f := ManifestFields(r.Report); f != nil {
			t.Errorf("%s (%s): manifest fields %+v", name, r.Report.Verdict, f)
		}
		if s := ManifestSummary(r.Report); s != "" {
			t.Errorf("%s: summary %q", name, s)
		}
	}
}

// TestManifestFields: the labels and their order, "not given" for a
// manifest without an NHI, the optional prescriber and facility, nothing
// for a withheld report, and terminal-safe values.
func TestManifestFields(t *testing.T) {
	verified := func(mf *manifest.Manifest) *receive.Report {
		return &receive.Report{Verdict: receive.Verified, Manifest: mf}
	}
	for _, tc := range []struct {
		name string
		r    *receive.Report
		want []Field
	}{
		{"nhi and type", verified(&manifest.Manifest{DocumentType: "prescription", PatientNHI: "ZZZ0016"}),
			[]Field{{"Patient NHI", "ZZZ0016"}, {"Document type", "prescription"}}},
		{"no nhi", verified(&manifest.Manifest{DocumentType: "document"}),
			[]Field{{"Patient NHI", "not given"}, {"Document type", "document"}}},
		{"prescriber and facility", verified(&manifest.Manifest{DocumentType: "referral", PatientNHI: "ZZZ0024",
			Prescriber: &manifest.Prescriber{Name: "Dr A Ngata", CPN: "12ABCD"}, FacilityHPI: "F99999-J"}),
			[]Field{{"Patient NHI", "ZZZ0024"}, {"Document type", "referral"}, {"Prescriber", "Dr A Ngata (HPI CPN 12ABCD)"}, {"Facility HPI", "F99999-J"}}},
		{"cpn only", verified(&manifest.Manifest{DocumentType: "document", Prescriber: &manifest.Prescriber{CPN: "12ABCD"}}),
			[]Field{{"Patient NHI", "not given"}, {"Document type", "document"}, {"Prescriber", "HPI CPN 12ABCD"}}},
		{"escape sequence", verified(&manifest.Manifest{DocumentType: "x\x1b[2Jy", PatientNHI: "\u202eZZZ0016"}),
			[]Field{{"Patient NHI", termsafe.String("\u202eZZZ0016")}, {"Document type", termsafe.String("x\x1b[2Jy")}}},
		{"withheld", &receive.Report{Verdict: receive.BadSignature, Manifest: &manifest.Manifest{DocumentType: "document"}}, nil},
		{"no manifest", verified(nil), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ManifestFields(tc.r)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			for _, f := range got {
				if strings.ContainsAny(f.Value, "\x1b\u202e") {
					t.Errorf("unsafe value %q", f.Value)
				}
			}
		})
	}
}

// TestSendRefusesTestNHI: outside demo mode a message for a test patient
// (an NHI starting with Z) is refused before anything is queued, with a
// text that does not repeat the number; a real-format NHI is queued.
func TestSendRefusesTestNHI(t *testing.T) {
	d := sendDesk(t)
	pki := accounttest.NewPKI(t)
	dr := testDraft(t, pki, "127.0.0.1:1", "")
	dr.Message.PatientNHI = "ZZZ0016"
	_, err := d.Send(t.Context(), dr)
	var r *Refused
	if !errors.As(err, &r) || !errors.Is(err, nhi.ErrTestNumber) || !errors.Is(err, send.ErrInvalidMessage) || strings.Contains(err.Error(), "ZZZ0016") {
		t.Fatalf("send with a test NHI: %v", err)
	}
	ob, err := d.Outbox(OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if recs, err := ob.List(); err != nil || len(recs) != 0 {
		t.Fatalf("outbox after a refusal: %d jobs, %v", len(recs), err)
	}
	dr.Message.PatientNHI = "WLD9413"
	if _, err := d.Send(t.Context(), dr); err != nil {
		t.Fatalf("send with a real-format NHI: %v", err)
	}
}
