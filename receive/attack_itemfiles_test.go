package receive_test

import (
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
