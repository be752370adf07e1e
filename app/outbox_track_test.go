package app

import (
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/send/outbox"
)

// trackedBox is the demo desk's real outbox with the acknowledgement
// states set by the test (the real ones come from the desk's
// acknowledgement log, which e2e/ack_test.go fills over Postfix and
// Dovecot).
type trackedBox struct {
	Outbox
	mu sync.Mutex
	tr func(*outbox.Record) desk.Tracking
}

func (b *trackedBox) TrackAll(recs []*outbox.Record) []desk.Tracking {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]desk.Tracking, len(recs))
	for i, r := range recs {
		out[i] = desk.Tracking{State: desk.TrackState(r.State)}
		if b.tr != nil {
			out[i] = b.tr(r)
		}
	}
	return out
}

func (b *trackedBox) set(tr func(*outbox.Record) desk.Tracking) {
	b.mu.Lock()
	b.tr = tr
	b.mu.Unlock()
}

// row is the Sent list's first row: its texts and the importance of its
// state line.
func row(st *sentTab) (string, widget.Importance) {
	obj := st.list.CreateItem()
	st.list.UpdateItem(0, obj)
	var imp widget.Importance
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if c, ok := o.(*fyne.Container); ok {
			for _, x := range c.Objects {
				walk(x)
			}
		}
		if l, ok := o.(*widget.Label); ok && !l.TextStyle.Bold {
			imp = l.Importance
		}
	}
	walk(obj)
	return texts(obj), imp
}

// The Sent tab shows what the recipient's signed acknowledgement says:
// sent, then amber "not acknowledged yet — phone the pharmacy" once
// overdue, acknowledged (green), and rejected with the reason (red), in
// the list and the detail; the acknowledgement goes into the
// transmission confirmation that is copied or saved as PDF.
func TestSentTrackedStates(t *testing.T) {
	var box *trackedBox
	u := newDemoUI(t, func(c *Config) {
		box = &trackedBox{Outbox: c.Outbox.Box}
		c.Outbox.Box = box
	})
	sendSamples(t, u)
	st := u.sent
	reloadSent(t, st, oneIn(outbox.Sent))
	st.list.Select(0)
	if text, imp := row(st); !strings.Contains(text, "Sent ·") || imp != widget.MediumImportance {
		t.Errorf("sent row %q importance %v", text, imp)
	}
	receipt := func(kind ack.Kind, reason string, r *outbox.Record) *ack.Receipt {
		var docs []manifest.Document
		for _, d := range r.Documents {
			docs = append(docs, manifest.Document{Name: d.Name, ContentType: d.ContentType, Size: d.Size, SHA256: d.SHA256})
		}
		return &ack.Receipt{OriginalMessageID: r.MessageID, Kind: kind, Reason: reason, Verdict: "verified", Documents: docs,
			FinalRecipient: "pharmacy@demo.test", Time: time.Now()}
	}
	tests := []struct {
		name   string
		tr     func(r *outbox.Record) desk.Tracking
		row    string
		imp    widget.Importance
		detail []string
		copied []string
	}{
		{"overdue", func(*outbox.Record) desk.Tracking { return desk.Tracking{State: desk.TrackSent, Overdue: true} },
			"Sent — not acknowledged yet — phone the pharmacy", widget.WarningImportance,
			[]string{"Sent — not acknowledged yet — phone the pharmacy: to Demo Pharmacy.", "Phone the pharmacy to check"},
			[]string{"Acknowledgement      none yet — not acknowledged yet — phone the pharmacy"}},
		{"acknowledged", func(r *outbox.Record) desk.Tracking {
			return desk.Tracking{State: desk.TrackAcknowledged, Receipt: receipt(ack.Received, "", r), From: "pharmacy@demo.test"}
		}, "Acknowledged — received and verified by pharmacy@demo.test", widget.SuccessImportance,
			[]string{"received the message, decrypted it and verified your signature", "Acknowledgement      acknowledged by pharmacy@demo.test (signed, verified)"},
			[]string{"Acknowledgement      acknowledged by pharmacy@demo.test (signed, verified)", "Acknowledged SHA-256 "}},
		{"rejected", func(r *outbox.Record) desk.Tracking {
			return desk.Tracking{State: desk.TrackRejected, Receipt: receipt(ack.Rejected, "Dose unclear, please phone", r), From: "pharmacy@demo.test"}
		}, "Rejected by pharmacy@demo.test: Dose unclear, please phone", widget.DangerImportance,
			[]string{"Rejected by pharmacy@demo.test: Dose unclear, please phone: to Demo Pharmacy.", "Phone them before sending it again"},
			[]string{"Acknowledgement      rejected by pharmacy@demo.test", "Reason               Dose unclear, please phone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			box.set(tt.tr)
			st.reloadNow()
			text, imp := row(st)
			if !strings.Contains(text, tt.row) || imp != tt.imp {
				t.Errorf("row %q importance %v, want %q %v", text, imp, tt.row, tt.imp)
			}
			detail := texts(st.detail)
			for _, want := range tt.detail {
				if !strings.Contains(detail, want) {
					t.Errorf("detail lacks %q:\n%s", want, detail)
				}
			}
			test := findButton(t, st.detail, "Copy confirmation")
			test.OnTapped()
			copied := u.app.Clipboard().Content()
			for _, want := range append(tt.copied, "securesend transmission confirmation") {
				if !strings.Contains(copied, want) {
					t.Errorf("copied confirmation lacks %q:\n%s", want, copied)
				}
			}
		})
	}
}
