package desk

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/securesend/securesend/receive"
)

func TestAppDocumentFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "scan.pdf")
	if err := os.WriteFile(file, []byte("%PDF-1.7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.pdf")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	// A stored item's document names its encrypted copy, relative to the
	// item; a file of that name in the working directory is not it.
	wd := t.TempDir()
	t.Chdir(wd)
	if err := os.WriteFile("doc-1.enc", []byte("not the document"), 0o600); err != nil {
		t.Fatal(err)
	}
	report := func(v receive.Verdict, paths ...string) *receive.Report {
		r := &receive.Report{Verdict: v}
		for _, p := range paths {
			r.Documents = append(r.Documents, receive.Document{Name: filepath.Base(p), Path: p})
		}
		return r
	}
	withheld := report(receive.Verified, file)
	withheld.Withheld = true
	tests := []struct {
		name string
		r    *receive.Report
		n    int
		want string
	}{
		{"verified into a folder", report(receive.Verified, file), 0, file},
		{"not verified, into a folder (the app asks first)", report(receive.UnknownSigner, file), 0, file},
		{"the second document", report(receive.Verified, "doc-1.enc", file), 1, file},
		{"in the inbox store", report(receive.Verified, "doc-1.enc"), 0, ""},
		{"not written", report(receive.Verified, ""), 0, ""},
		{"withheld", withheld, 0, ""},
		{"bad signature", report(receive.BadSignature, file), 0, ""},
		{"a link in its place", report(receive.Verified, link), 0, ""},
		{"a folder", report(receive.Verified, dir), 0, ""},
		{"removed since", report(receive.Verified, filepath.Join(dir, "gone.pdf")), 0, ""},
		{"no such document", report(receive.Verified, file), 1, ""},
		{"negative", report(receive.Verified, file), -1, ""},
		{"no report", nil, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AppDocumentFile(tt.r, tt.n); got != tt.want {
				t.Errorf("AppDocumentFile = %q, want %q", got, tt.want)
			}
		})
	}
}
