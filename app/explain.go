package app

import (
	"context"
	"errors"
	"strings"

	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/send"
)

// explainSendError turns a failed send into a title and a detail in plain
// words. The documents stay in the form either way. A provider's known
// refusal of a password sign-in (*send.ProviderRefusal) is titled with its
// advice, which names the fix; the server's reply is quoted with its
// enhanced status code, on one line, and everything shown has its control
// and bidi characters made visible (termsafe): a server's reply is not the
// app's to trust.
func explainSendError(err error) (title, detail string) {
	title, detail = explain(err)
	return termsafe.String(title), termsafe.Text(detail)
}

func explain(err error) (title, detail string) {
	const kept = "Your documents are still here, so you can try again."
	var se *send.Error
	var mk *send.MissingKeysError
	switch {
	case errors.Is(err, context.Canceled):
		return "Sending was cancelled.",
			"If you cancelled at the very last moment the message may still have been delivered; check with the recipient before sending again. " + kept
	case errors.As(err, &mk):
		return "Not sent: " + sentence(mk.Error()), kept
	case errors.As(err, &se):
		title = "Not sent: " + sentence(se.Kind.Error())
		if errors.Is(se.Kind, send.ErrRecipientsRejected) {
			title = "Only partly sent: " + sentence(se.Kind.Error())
		}
		var parts []string
		var pr *send.ProviderRefusal
		if errors.As(se.Err, &pr) {
			title = "Not sent: " + sentence(pr.Advice)
			if hint := providerHint(pr); hint != "" {
				parts = append(parts, hint)
			}
		}
		if se.Reply.Code != 0 {
			parts = append(parts, "The mail server said: "+strings.TrimSuffix(se.Reply.String(), ".")+".")
		}
		if se.Temporary() {
			parts = append(parts, "This is usually temporary; try again in a few minutes.")
		}
		parts = append(parts, kept)
		return title, strings.Join(parts, " ")
	case errors.Is(err, send.ErrInvalidMessage):
		return "Not sent: " + sentence(err.Error()), kept
	}
	return "Not sent: " + sentence(err.Error()), kept
}

// providerHint says where the app does what a provider's refusal asks
// (its advice names the command-line way).
func providerHint(pr *send.ProviderRefusal) string {
	switch pr.Provider {
	case "Microsoft 365":
		return "In this app: Settings, Add an account, Provider " + presetMicrosoft + ", then Sign in with Microsoft."
	case "Google":
		return "In this app: Settings, Add an account, Provider " + presetGoogle + ", then Sign in with Google."
	}
	return ""
}

// sentence capitalises s and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
