package desk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/receive"
)

// TestTrustInboxIndex: an older copy of the inbox index put back (as from
// a backup) is refused until the user accepts it, which is audited; the
// messages recorded after the copy are then forgotten (fetched again).
func TestTrustInboxIndex(t *testing.T) {
	d, _ := testDesk(t)
	st, err := d.Inbox()
	if err != nil {
		t.Fatal(err)
	}
	verify := func(ctx context.Context, raw io.Reader, sink receive.DocumentSink) (*receive.Report, error) {
		return receive.Verify(ctx, raw, receive.VerifyOptions{Sink: sink})
	}
	add := func(uid uint32) {
		t.Helper()
		msg := fmt.Sprintf("From: a@clinic.test\r\nTo: b@pharmacy.test\r\nSubject: %d\r\nMessage-ID: <%d@clinic.test>\r\n\r\nhello %d\r\n", uid, uid, uid)
		if _, _, err := st.Add(context.Background(), strings.NewReader(msg), receive.Source{Account: "a", Mailbox: "INBOX", UIDValidity: 1, UID: uid}, verify); err != nil {
			t.Fatal(err)
		}
	}
	add(1)
	index := filepath.Join(st.Dir(), "index.log")
	backup, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	add(2)
	// A failure record is written durably at once (commits are flushed
	// at most once a second), which moves the keychain's head past the
	// copy.
	if _, err := st.RecordFailure(receive.Source{Account: "a", Mailbox: "INBOX", UIDValidity: 1, UID: 3}, "fetch", io.ErrUnexpectedEOF); err != nil {
		t.Fatal(err)
	}

	// A fresh Desk, as the next command would be, finds the older copy.
	if err := os.WriteFile(index, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	d2, err := Open(d.opts)
	if err != nil {
		t.Fatal(err)
	}
	st2, err := d2.Inbox()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st2.List(); !errors.Is(err, receive.ErrIndexRolledBack) || !strings.Contains(err.Error(), "trust-index") {
		t.Fatalf("an older index was read: %v", err)
	}
	if err := d2.TrustInboxIndex(); err != nil {
		t.Fatal(err)
	}
	items, err := st2.List()
	if err != nil || len(items) != 1 {
		t.Fatalf("after trusting: %d items, %v", len(items), err)
	}
	l, err := d2.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := l.Export(&b, audit.CSV, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), string(audit.InboxIndexTrusted)) {
		t.Errorf("trusting the index was not audited:\n%s", b.String())
	}
}
