//go:build linux

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/receive"
)

// TestConfirmUnverifiedPrompt: on a terminal, opening a non-verified
// document asks y/N after showing the reason; only y opens. Without a
// terminal it is refused, naming --yes-unverified (which sets only
// desk.OpenOptions.Confirmed.Unverified; see desk's
// TestOpenDocumentAsksEachQuestionOnItsOwn).
func TestConfirmUnverifiedPrompt(t *testing.T) {
	rep := &receive.Report{Verdict: receive.NotAddressed, Reason: "signed by Dr Alice for other@pharmacy.test\x1b[2K"}
	u := &desk.UnconfirmedError{ID: "3", Report: rep}
	for _, tt := range []struct {
		answer string
		ok     bool
	}{{"y\n", true}, {"yes\n", true}, {"\n", false}, {"n\n", false}, {"whatever\n", false}} {
		master, tty := openPTY(t)
		if _, err := master.Write([]byte(tt.answer)); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		err := confirmUnverified(&env{stdin: tty, stderr: &stderr}, u, false)
		if (err == nil) != tt.ok {
			t.Errorf("answer %q: %v", tt.answer, err)
		}
		p := stderr.String()
		if !strings.Contains(p, "NOT VERIFIED (not-addressed-to-you)") || !strings.Contains(p, `other@pharmacy.test\x1b[2K`) || !strings.HasSuffix(p, "[y/N] ") {
			t.Errorf("prompt %q", p)
		}
	}
	var stderr bytes.Buffer
	if err := confirmUnverified(&env{stdin: strings.NewReader("y\n"), stderr: &stderr}, u, false); err == nil || !strings.Contains(err.Error(), "--yes-unverified") {
		t.Errorf("without a terminal: %v", err)
	}
}
