package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

// verdictLook is how a verdict is shown: an icon and words, with a colour
// only as a third cue.
type verdictLook struct {
	Icon  fyne.Resource
	Tint  fyne.ThemeColorName
	Short string // for the list
}

// lookOf is the look of a verdict: green (success) for verified, amber
// (warning) for the verdicts whose content may be opened after a
// confirmation, red (error) for the rest, following Verdict.Colour.
func lookOf(v receive.Verdict) verdictLook {
	short := "Not checked"
	switch v {
	case receive.Verified:
		short = "Verified"
	case receive.UnknownSigner:
		short = "Signed by unknown key"
	case receive.NotSigned:
		short = "Not signed"
	case receive.NotAddressed:
		short = "Not addressed to you"
	case receive.BadSignature:
		short = "Bad signature"
	case receive.CannotDecrypt:
		short = "Cannot decrypt"
	case receive.SenderMismatch:
		short = "Sender mismatch"
	}
	switch {
	case short == "Not checked":
		return verdictLook{theme.QuestionIcon(), theme.ColorNameError, short}
	case v.Colour() == "green":
		return verdictLook{theme.ConfirmIcon(), theme.ColorNameSuccess, short}
	case v.Colour() == "amber":
		return verdictLook{theme.WarningIcon(), theme.ColorNameWarning, short}
	}
	return verdictLook{theme.ErrorIcon(), theme.ColorNameError, short}
}

// reportLook is lookOf the report's verdict, red for an impostor
// whatever the verdict.
func reportLook(r *receive.Report) verdictLook {
	look := lookOf(r.Verdict)
	if r.Impostor {
		look.Icon, look.Tint, look.Short = theme.ErrorIcon(), theme.ColorNameError, "Impostor — "+look.Short
	}
	return look
}

// withheld reports whether nothing from inside the message may be shown
// or opened: it failed its integrity or signature check (desk.Withheld).
func withheld(r *receive.Report) bool { return desk.Withheld(r) }

// bannerTitle is the unmistakable first line of the detail view.
func bannerTitle(r *receive.Report) string {
	if r.Impostor {
		return "Impostor — this key claims an address that belongs to someone else's key. Do not act on this message."
	}
	switch r.Verdict {
	case receive.Verified:
		who := r.SignerUserID
		if who == "" {
			who = r.From
		}
		return "Verified — signed by " + termsafe.String(who) + ", not altered"
	case receive.UnknownSigner:
		return "Signed by an unknown key — do not rely on it until you have compared the fingerprint"
	case receive.NotSigned:
		return "Not signed — anyone could have sent or changed this"
	case receive.NotAddressed:
		return "Not addressed to you — it may have been forwarded or replayed from another recipient"
	case receive.BadSignature:
		return "Bad signature — this message was altered or forged"
	case receive.CannotDecrypt:
		return "Cannot decrypt — this message cannot be read with your key"
	case receive.SenderMismatch:
		return "Sender mismatch — the signature does not belong to the sender shown"
	}
	return "Not checked"
}
