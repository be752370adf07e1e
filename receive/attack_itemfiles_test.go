package receive_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/receive"
)

// TestAttackSwapItemFiles: every item file is encrypted with the one
// at-rest key, so a local attacker without the key can still swap the
// files of two items: item 1 would then open item 2's document (another
// patient's prescription) or message, or show its report (subject, note,
// document names, verdict). Before the fix each swap was read without
// error. Now a document or message whose plaintext does not hash to what
// the (authenticated) index records fails with atrest.ErrTampered at the
// end of the reading, and a report that does not match its item is
// refused.
func TestAttackSwapItemFiles(t *testing.T) {
	for _, file := range []string{"doc-1.enc", "message.eml.enc", "report.json.enc"} {
		t.Run(file, func(t *testing.T) {
			st, dir, _ := newStore(t)
			verify := inboxVerifier(t)
			for i := range 2 {
				msg := plainMessage(fmt.Sprintf("swap%d@clinic.test", i), fmt.Sprint("patient ", i), "note", fmt.Appendf(nil, "%%PDF-1.4 prescription for patient %d", i))
				if _, _, err := commitMessage(t, st, msg, receive.Source{Account: "pharmacy"}, verify); err != nil {
					t.Fatal(err)
				}
			}
			a, b := filepath.Join(dir, "items", "1", file), filepath.Join(dir, "items", "2", file)
			da, _ := os.ReadFile(a)
			db, _ := os.ReadFile(b)
			os.WriteFile(a, db, 0o600)
			os.WriteFile(b, da, 0o600)

			var err error
			switch file {
			case "doc-1.enc":
				err = readAllFrom(st.OpenDocument("1", 0))
			case "message.eml.enc":
				err = readAllFrom(st.OpenMessage("1"))
			default:
				_, err = st.Report("1")
			}
			if err == nil {
				t.Fatalf("item 1 opened item 2's %s without error", file)
			}
			if file != "report.json.enc" && !errors.Is(err, atrest.ErrTampered) {
				t.Errorf("err = %v, want atrest.ErrTampered", err)
			}
			// Unswapped, both open.
			os.WriteFile(a, da, 0o600)
			os.WriteFile(b, db, 0o600)
			if err := readAllFrom(st.OpenDocument("1", 0)); err != nil {
				t.Fatal(err)
			}
			if err := readAllFrom(st.OpenMessage("2")); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Report("2"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func readAllFrom(rc io.ReadCloser, err error) error {
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

// TestAttackSwapQuarantine: two messages failed and were quarantined; a
// local attacker swaps their quarantine files. Before the fix,
// OpenQuarantined of the first returned the second message without error
// (for export, or forensics: the wrong message blamed on a sender). Now
// the failure record holds the hash of the message quarantined, and the
// reader fails with atrest.ErrTampered.
func TestAttackSwapQuarantine(t *testing.T) {
	st, dir, _ := newStore(t)
	verify := func(context.Context, io.Reader, receive.DocumentSink) (*receive.Report, error) {
		return nil, errors.New("the message cannot be parsed")
	}
	var srcs []receive.Source
	for i := range 2 {
		src := receive.Source{Account: "pharmacy", Mailbox: "INBOX", UIDValidity: 1, UID: uint32(i + 1)}
		_, _, err := commitMessage(t, st, plainMessage(fmt.Sprintf("q%d@clinic.test", i), "S", "n", fmt.Appendf(nil, "%%PDF q%d", i)), src, verify)
		var ce *receive.CommitError
		if !errors.As(err, &ce) || !ce.Quarantined {
			t.Fatalf("commit: %v", err)
		}
		if _, err := st.RecordFailure(src, ce.Stage, ce); err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, src)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "quarantine", "*.eml.enc"))
	if len(files) != 2 {
		t.Fatalf("quarantine holds %v", files)
	}
	for _, src := range srcs {
		if err := readAllFrom(st.OpenQuarantined(src)); err != nil {
			t.Fatalf("before the swap: %v", err)
		}
	}
	a, _ := os.ReadFile(files[0])
	b, _ := os.ReadFile(files[1])
	os.WriteFile(files[0], b, 0o600)
	os.WriteFile(files[1], a, 0o600)
	for _, src := range srcs {
		if err := readAllFrom(st.OpenQuarantined(src)); !errors.Is(err, atrest.ErrTampered) {
			t.Errorf("UID %d after the swap: err = %v, want atrest.ErrTampered", src.UID, err)
		}
	}
}
