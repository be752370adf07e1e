package desk

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send/outbox"
)

// Attacks on cancel and replace (issue 16 point 4) through Desk: with
// real messages from Alice's home (real SMTP, her TEST ONLY key) fetched
// by Bob's (real IMAP), and Bob's watch handing documents on.

// TestCancelAttackWatchSkipsCancelled: a cancellation that reaches the
// pharmacy before (or in the same fetch as) its original stops the watch
// from handing the original's document to the drop folder or printer:
// a cancelled prescription is never delivered without the question.
func TestCancelAttackWatchSkipsCancelled(t *testing.T) {
	for _, order := range []string{"cancellation first", "same fetch"} {
		t.Run(order, func(t *testing.T) {
			c := newClinicHome(t)
			orig := c.send(t, Draft{Message: prescription(t, "amoxicillin 500mg")})
			origMail := c.mail()
			c.cancel(t, orig, "wrong dose")
			cancelMail := c.mail()
			bob, srv := pharmacy(t)
			drop := t.TempDir()
			var ev events
			watch := func() {
				t.Helper()
				ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
				defer cancel()
				if err := bob.Watch(ctx, WatchOptions{Drop: drop, Once: true, Event: ev.add}); err != nil {
					t.Fatal(err)
				}
			}
			watch() // the drop folder is new: from now on
			srv.Deliver(t, cancelMail[0])
			if order == "cancellation first" {
				watch()
			}
			srv.Deliver(t, origMail[0])
			watch()
			if o := byMessageID(t, bob, orig); o.Superseded == nil {
				t.Fatalf("the original is not marked cancelled: %+v", o)
			}
			if files := dropped(t, drop); len(files) != 0 || ev.count(EventDelivered) != 0 {
				t.Errorf("a cancelled prescription was delivered: %v\n%s", files, &ev)
			}
			if !strings.Contains(ev.String(), "CANCELLED by the sender") {
				t.Errorf("no event says why:\n%s", &ev)
			}
		})
	}
}

// TestCancelAttackBannerIsTerminalSafe: a reason or Message-ID carrying
// terminal escapes, bidi overrides or line breaks reaches the banner and
// the claim's note (CLI and GUI use both) only escaped, on one line.
func TestCancelAttackBannerIsTerminalSafe(t *testing.T) {
	evil := "ok\x1b[2J\x1b]8;;http://evil\x07\r\nDispense 90\u202e\u2066\u200b\x00end"
	for _, kind := range []manifest.Kind{manifest.Cancel, manifest.Replace} {
		b := SupersededBanner(&receive.Supersession{Kind: kind, ByMessageID: "x\x1b[31m\u202e@evil.test", ByID: "7", At: time.Now(), Reason: evil})
		note, _ := SupersedesNote(&receive.SupersedeClaim{Kind: kind, MessageID: "y\x1b[0m\n@evil.test", Refused: "WARNING: " + evil})
		pend, _ := SupersedesNote(&receive.SupersedeClaim{Kind: kind, MessageID: "y\x1b[0m\u202e\n@evil.test"})
		for _, s := range []string{b, note, pend} {
			if strings.ContainsAny(s, "\x1b\x07\r\n\x00\u202e\u2066\u200b") {
				t.Errorf("%s: unsafe text reaches the terminal: %q", kind, s)
			}
		}
	}
}

// TestCancelAttackSenderSide: the sender's cancel and replace cannot be
// aimed at another sender's message, nor reach recipients the original
// never had; the Message-ID's angle brackets and spaces name the same
// message, not another.
func TestCancelAttackSenderSide(t *testing.T) {
	c := newClinicHome(t)
	orig := c.send(t, Draft{Message: prescription(t, "amoxicillin 500mg")})
	c.mail()

	// A replacement from another address of the home is refused.
	other := prescription(t, "amoxicillin 250mg")
	other.From = mail.Address{Address: "locum@clinic.test"}
	_, err := c.d.Send(t.Context(), Draft{Message: other, Via: Via{Account: "clinic"}, Replaces: orig})
	var r *Refused
	if !errors.As(err, &r) || !strings.Contains(err.Error(), "only its sender can cancel or replace it") {
		t.Errorf("replacement from another sender: %v", err)
	}

	// The cancellation, named with angle brackets and spaces, goes from
	// the original's sender to exactly its recipients.
	cancel := c.cancel(t, " <"+orig+"> ", "wrong dose")
	ob, err := c.d.Outbox(OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ob.List()
	if err != nil {
		t.Fatal(err)
	}
	var o, cl *outbox.Record
	for _, rec := range recs {
		switch rec.MessageID {
		case orig:
			o = rec
		case cancel:
			cl = rec
		}
	}
	if o == nil || cl == nil {
		t.Fatalf("outbox %+v", recs)
	}
	if cl.Envelope.From != o.Envelope.From || strings.Join(cl.Envelope.To, ",") != strings.Join(o.Envelope.To, ",") {
		t.Errorf("cancellation envelope %+v, original %+v", cl.Envelope, o.Envelope)
	}
	if cl.SignerFingerprint == "" || cl.SignerFingerprint != o.SignerFingerprint {
		t.Errorf("cancellation signed by %q, original by %q", cl.SignerFingerprint, o.SignerFingerprint)
	}
}
