package windows

import (
	"bytes"
	"debug/pe"
	"os"
	"testing"
	"unicode/utf16"
)

// TestWindowsResources checks that securesend.exe carries what
// cmd/securesend/rsrc_windows_amd64.syso gives it: a resource section
// with the icon, version information and a manifest declaring
// per-monitor DPI awareness and long paths, and that it is a
// GUI-subsystem program (no console window behind the desktop app).
func TestWindowsResources(t *testing.T) {
	need(t)
	f, err := pe.Open(h.exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok {
		t.Fatalf("not a 64-bit PE file")
	}
	if oh.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_GUI {
		t.Errorf("subsystem %d, want the GUI subsystem (%d)", oh.Subsystem, pe.IMAGE_SUBSYSTEM_WINDOWS_GUI)
	}
	rsrc := f.Section(".rsrc")
	if rsrc == nil {
		t.Fatal("securesend.exe has no resource section: the .syso was not linked")
	}
	data, err := rsrc.Data()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]byte{
		[]byte("<dpiAwareness xmlns=\"http://schemas.microsoft.com/SMI/2016/WindowsSettings\">permonitorv2"), []byte(">true</longPathAware>"), []byte(`level="asInvoker"`),
		[]byte("\x89PNG"), // the icon
		utf16le("OriginalFilename"), utf16le("securesend.exe"), utf16le("ProductVersion"),
	} {
		if !bytes.Contains(data, want) {
			t.Errorf("the resources lack %q", want)
		}
	}
	if fi, err := os.Stat(h.exe); err == nil {
		t.Logf("securesend.exe: %d MB, resources %d KB", fi.Size()>>20, len(data)>>10)
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}
