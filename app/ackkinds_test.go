package app

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/receive"
)

// TestInboxAckKindsAsDesk: the Inbox tells an acknowledgement that did
// not count by desk.IsAcknowledgement, the rule desk refuses to answer
// by, so every message desk will not acknowledge is shown in amber
// without Accept: one whose parts have their media types in another case,
// and one desk marked ignored (AckIgnoredRemark). Before, the app kept
// its own copy that matched only the exact lower-case types and offered
// Accept on both, which desk then refused.
func TestInboxAckKindsAsDesk(t *testing.T) {
	upper := strings.ToUpper(ack.NotificationType)
	reports := map[string]*receive.Report{
		"media types in upper case": {Verdict: receive.Verified, From: "pharmacy@pharm.test", Subject: "Accepted",
			Documents: []receive.Document{{Name: "MDNPart.txt", ContentType: upper}}},
		"marked ignored by desk": {Verdict: receive.Verified, From: "pharmacy@pharm.test", Subject: "Accepted",
			Remarks: []string{desk.AckIgnoredRemark}},
	}
	for name, rep := range reports {
		t.Run(name, func(t *testing.T) {
			if !desk.IsAcknowledgement(rep) {
				t.Fatal("desk does not take it for an acknowledgement")
			}
			l := &ackLog{now: time.Now, sent: map[string][]desk.SentAck{}}
			u := ackInbox(t, l, Received{Report: rep})
			if text, imp := rowText(u, 0); !strings.Contains(text, "Acknowledgement not counted") || imp != widget.WarningImportance {
				t.Errorf("row (%v):\n%s", imp, text)
			}
			u.inbox.list.Select(0)
			if d := labelsIn(u.inbox.detail); !strings.Contains(d, "An acknowledgement that did not count") || len(buttonsIn(u.inbox.detail, "Accept")) != 0 {
				t.Errorf("detail offers an answer or lacks the banner:\n%s", d)
			}
		})
	}
}
