//go:build unix

package hotfolder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAttackForgedJournal: whoever can write to a shared scan folder can
// read a new scan while it settles, hash it, and write a journal that
// says this content was queued already (as job id, say, of an old job
// that was sent). The round then moved the scan to sent/ without queueing
// it, and securesend reported it as already queued or sent: a
// prescription that never left, with the tool saying it did. A journal
// that is not this user's own, private file is refused: the round stops
// with an error, the scan stays where it is and nothing is reported as
// queued.
func TestAttackForgedJournal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		forge func(t *testing.T, p string)
	}{
		{"written by anyone (mode 0666)", func(t *testing.T, p string) {
			if err := os.Chmod(p, 0o666); err != nil {
				t.Fatal(err)
			}
		}},
		{"group-writable (mode 0620)", func(t *testing.T, p string) {
			if err := os.Chmod(p, 0o620); err != nil {
				t.Fatal(err)
			}
		}},
		{"another user's file", func(t *testing.T, p string) {
			if os.Getuid() != 0 {
				t.Skip("needs root to give the journal to another user")
			}
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			data := pngBytes(t, 7)
			p := writeFile(t, dir, "prescription.png", data, time.Hour)
			sum := sha256.Sum256(data)
			j := journal{Version: 1, Entries: map[string]entry{hex.EncodeToString(sum[:]): {
				Key: "00112233445566778899aabbccddeeff", Job: "0123456789abcdef0123456789abcdef", Name: "prescription.png", Time: time.Now().UTC()}}}
			b, _ := json.Marshal(j)
			jp := filepath.Join(dir, JournalName)
			if err := os.WriteFile(jp, b, 0o600); err != nil {
				t.Fatal(err)
			}
			tc.forge(t, jp)

			r := &recorder{}
			var evs []Event
			st, err := newWatcher(t, dir, r, 0, &evs).Drain(context.Background())
			if st.AlreadyQueued != 0 || len(evs) != 0 {
				t.Errorf("the forged journal was believed: stats %+v, events %+v", st, evs)
			}
			if err == nil {
				t.Error("no error for a journal that others can write")
			}
			if !exists(p) || exists(filepath.Join(dir, SentDir, "prescription.png")) {
				t.Error("the scan was moved to sent/ without being queued")
			}
		})
	}
}
