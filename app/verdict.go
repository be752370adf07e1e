package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/securesend/securesend/receive"
)

// verdictLook is how a verdict is shown: an icon and words, with a colour
// only as a third cue.
type verdictLook struct {
	Icon  fyne.Resource
	Tint  fyne.ThemeColorName
	Short string // for the list
}

func lookOf(v receive.Verdict) verdictLook {
	switch v {
	case receive.Verified:
		return verdictLook{theme.ConfirmIcon(), theme.ColorNameSuccess, "Verified"}
	case receive.UnknownSigner:
		return verdictLook{theme.WarningIcon(), theme.ColorNameWarning, "Signed by unknown key"}
	case receive.NotSigned:
		return verdictLook{theme.WarningIcon(), theme.ColorNameWarning, "Not signed"}
	case receive.BadSignature:
		return verdictLook{theme.ErrorIcon(), theme.ColorNameError, "Bad signature"}
	case receive.CannotDecrypt:
		return verdictLook{theme.ErrorIcon(), theme.ColorNameError, "Cannot decrypt"}
	case receive.SenderMismatch:
		return verdictLook{theme.ErrorIcon(), theme.ColorNameError, "Sender mismatch"}
	}
	return verdictLook{theme.QuestionIcon(), theme.ColorNameError, "Not checked"}
}

// bannerTitle is the unmistakable first line of the detail view.
func bannerTitle(r *receive.Report) string {
	switch r.Verdict {
	case receive.Verified:
		who := r.SignerUserID
		if who == "" {
			who = r.From
		}
		return "Verified — signed by " + who + ", not altered"
	case receive.UnknownSigner:
		return "Signed by an unknown key — do not rely on it until you have compared the fingerprint"
	case receive.NotSigned:
		return "Not signed — anyone could have sent or changed this"
	case receive.BadSignature:
		return "Bad signature — this message was altered or forged"
	case receive.CannotDecrypt:
		return "Cannot decrypt — this message cannot be read with your key"
	case receive.SenderMismatch:
		return "Sender mismatch — the signature does not belong to the sender shown"
	}
	return "Not checked"
}
