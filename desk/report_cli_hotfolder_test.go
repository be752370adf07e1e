package desk

import (
	"errors"
	"strings"
	"testing"

	"github.com/securesend/securesend/send/hotfolder"
)

func TestDisplayName(t *testing.T) {
	for in, want := range map[string]string{
		"scan 1.pdf":      "scan 1.pdf",
		"Überweisung.pdf": "Überweisung.pdf",
		"a\nb.pdf":        `"a\nb.pdf"`,
		"\x1b[31mred.png": `"\x1b[31mred.png"`,
		"fdp.\u202egnp":   `"fdp.\u202egnp"`,
		"bad\xffutf8.tif": `"bad\xffutf8.tif"`,
	} {
		if got := DisplayName(in); got != want {
			t.Errorf("DisplayName(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestHotFolderLinesTermSafe: a reason or server reply carrying escape
// sequences or a newline reaches the terminal escaped, on one line.
func TestHotFolderLinesTermSafe(t *testing.T) {
	evil := "bad\x1b[2K\rVERIFIED\nnext"
	file, _ := HotFolderFileLines(hotfolder.Event{Name: "scan.pdf", Outcome: hotfolder.Retry, Reason: evil})
	del, _ := HotFolderDeliveryLines(RunEvent{JobID: "0123456789abcdef", Label: "scan.pdf", Outcome: RunFailed, Err: errors.New(evil)})
	for _, l := range append(file, del...) {
		if strings.ContainsAny(l, "\x1b\r\n") {
			t.Errorf("line %q carries a control character", l)
		}
		if !strings.Contains(l, `\x1b`) {
			t.Errorf("line %q does not show the escape", l)
		}
	}
}
