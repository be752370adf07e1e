package deliverjournal

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/securesend/securesend/crypto/keychain"
)

// TestFirstOpenRace: two watches of one home (a drop folder and a
// printer) started at the same moment on a home whose journals were never
// sealed must agree on one key: before, each could create its own
// (LookupKey, then Set: the last one stored wins), and the journal sealed
// with the lost key was refused at the next start, stopping that watch
// for good.
func TestFirstOpenRace(t *testing.T) {
	kc := testKC(t, "a.journal", "b.journal")
	for round := 0; round < 8; round++ {
		for _, n := range []string{KeyName, SealedName, headPrefix + "a.journal", headPrefix + "b.journal"} {
			kc.Delete(n) //nolint:errcheck // absent is fine
		}
		dir := t.TempDir()
		var (
			wg   sync.WaitGroup
			errs = make([]error, 2)
		)
		start := make(chan struct{})
		for i, name := range []string{"a.journal", "b.journal"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				// Its own Keychain, as another process would have.
				j, err := Open(filepath.Join(dir, name), keychain.New(kc.Service()))
				if err != nil {
					errs[i] = err
					return
				}
				defer j.Close()
				errs[i] = j.Record(Entry{Key: "k", State: Done, Time: t0})
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: watch %d: %v", round, i, err)
			}
		}
		for _, name := range []string{"a.journal", "b.journal"} {
			j, err := Open(filepath.Join(dir, name), kc)
			if err != nil {
				t.Fatal(fmt.Errorf("round %d: reopen: %w", round, err))
			}
			j.Close()
		}
	}
}
