package app

import (
	"errors"
	"strings"
	"testing"

	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/send"
)

// TestExplainSendErrorShowsServerTextSafely: a mail server's reply with
// control or bidi characters cannot rewrite what the error dialog says.
func TestExplainSendErrorShowsServerTextSafely(t *testing.T) {
	for _, err := range []error{
		&send.Error{Kind: send.ErrPermanent, Stage: "data-reply", Reply: send.Reply{Code: 554, Text: "rejected\u202e tnes\x1b[2K\rSent OK"}},
		errors.New("dial: \u2066odd\u2069 host\x07"),
	} {
		title, detail := explainSendError(err)
		for _, r := range title + detail {
			if termsafe.Unsafe(r) {
				t.Errorf("%v: raw %U in %q / %q", err, r, title, detail)
			}
		}
		if !strings.Contains(title+detail, "<U+") {
			t.Errorf("%v: the odd characters are not shown: %q / %q", err, title, detail)
		}
	}
}
