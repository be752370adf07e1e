package app

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// TestToFieldLongRecipientReadable: at 800×600, at 100% and 150%
// scaling, a long "Name <address>" picked in the To field can be read
// whole: the field shows it, or the line beneath it names the recipient
// in full (the address broken after its "@" when the line is narrower
// than it), each line inside the line's width. At 1600 px the field shows
// it and the line does not repeat it.
func TestToFieldLongRecipientReadable(t *testing.T) {
	const full = "Main Street Pharmacy <dispensary@mainstreet-pharmacy.example.nz>"
	u := newDemoUI(t, func(c *Config) {
		c.Recipients = []Recipient{{Name: "Main Street Pharmacy", Address: "dispensary@mainstreet-pharmacy.example.nz", KeyState: "pinned"}}
	})
	s := u.send
	if s.to.Text != full {
		t.Fatalf("the To field holds %q", s.to.Text)
	}
	for _, tc := range []struct {
		w, h, scale float32
		named       bool // the line beneath must name the recipient
	}{
		{800, 600, 1, true},
		{800, 600, 1.5, true},
		{1600, 900, 1, false},
	} {
		t.Run(fmt.Sprint(tc.w, "x", tc.h, "@", tc.scale), func(t *testing.T) {
			if c, ok := u.win.Canvas().(interface{ SetScale(float32) }); ok {
				c.SetScale(tc.scale)
			}
			u.win.Resize(fyne.NewSize(tc.w/tc.scale, tc.h/tc.scale))
			relayout(u.UI)
			k := s.toFull
			fits := fitsToField(full, s.to.Size().Width)
			if fits == tc.named {
				t.Errorf("the field (%v wide) shows the whole text: %v, want %v", s.to.Size().Width, fits, !tc.named)
			}
			switch {
			case !fits && strings.ReplaceAll(k.Text, "\n", "") != "To Main Street Pharmacy<dispensary@mainstreet-pharmacy.example.nz>":
				t.Errorf("the field cuts the recipient and the line beneath does not name them: %q", k.Text)
			case fits && (k.Text != "" || k.MinSize().Height != 0):
				t.Errorf("the line repeats what the field shows: %q", k.Text)
			}
			if s.keyState.Text != "Key checked: only they can read what you send." {
				t.Errorf("key line %q", s.keyState.Text)
			}
			if k.Text != "" && k.Size().Height < k.MinSize().Height {
				t.Errorf("the line is %v high, needs %v", k.Size().Height, k.MinSize().Height)
			}
			for _, word := range strings.Fields(k.Text) { // each line of the address is one word
				if w := fyne.MeasureText(word, theme.TextSize(), fyne.TextStyle{}).Width; w > k.Size().Width {
					t.Errorf("%q is %v wide, wider than the line (%v): it would be cut", word, w, k.Size().Width)
				}
			}
			if tc.scale == 1 {
				shownWhole(t, u.UI, k, "the recipient line") // at 150% the fields scroll, up and down only
			}
		})
	}
}
