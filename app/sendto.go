package app

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// recipientLine is the line under the Send tab's To field that names the
// recipient picked there in full whenever the field is too narrow to show
// "Name <address>" whole (at 800 px, or at 150% scaling, a long "Main
// Street Pharmacy <dispensary@…>" is cut). It has the field's width (see
// toColumn), so it decides at each Resize, as a wrapped label finds its
// height; it takes no room when the field shows everything.
type recipientLine struct {
	widget.Label
	// full is the To field's text for a picked recipient, "" otherwise.
	full string
}

func newRecipientLine() *recipientLine {
	l := &recipientLine{}
	l.Wrapping = fyne.TextWrapWord
	l.ExtendBaseWidget(l)
	return l
}

// set names full, the To field's text ("" for none).
func (l *recipientLine) set(full string) {
	l.full = full
	l.Text = l.textFor(l.Size().Width)
	l.Refresh()
}

// MinSize is nothing while the line is empty.
func (l *recipientLine) MinSize() fyne.Size {
	if l.Text == "" {
		return fyne.Size{}
	}
	return l.Label.MinSize()
}

// Resize lays the line out at size, naming the recipient when the To
// field (as wide as the line) cannot show its text whole.
func (l *recipientLine) Resize(size fyne.Size) {
	t := l.textFor(size.Width)
	l.Label.Resize(size)
	if t != l.Text {
		l.Text = t
		l.Refresh()
	}
}

// textFor is the line's text at width: "" when the field shows the
// recipient whole, else "To Name <address>", with an address too long
// for the line on a line of its own, broken after its "@" and dots when
// it is longer still (never inside a name or label).
func (l *recipientLine) textFor(width float32) string {
	if l.full == "" || width <= 0 || fitsToField(l.full, width) {
		return ""
	}
	if textWidth("To "+l.full) <= width {
		return "To " + l.full
	}
	name, addr := "", l.full
	if i := strings.LastIndex(l.full, " <"); i >= 0 && strings.HasSuffix(l.full, ">") {
		name, addr = l.full[:i], l.full[i+1:]
	}
	lines := packAddress(addr, width)
	if name != "" {
		lines = append([]string{"To " + name}, lines...)
	} else {
		lines[0] = "To " + lines[0]
	}
	return strings.Join(lines, "\n")
}

// packAddress splits addr into lines no wider than width, breaking only
// after "@" and dots; a part wider than width on its own stays whole.
func packAddress(addr string, width float32) []string {
	var parts []string
	start := 0
	for i, r := range addr {
		if r == '@' || r == '.' {
			parts = append(parts, addr[start:i+1])
			start = i + 1
		}
	}
	parts = append(parts, addr[start:])
	var lines []string
	line := ""
	for _, p := range parts {
		if line != "" && textWidth(line+p) > width {
			lines = append(lines, line)
			line = ""
		}
		line += p
	}
	return append(lines, line)
}

func textWidth(s string) float32 {
	return fyne.MeasureText(s, theme.TextSize(), fyne.TextStyle{}).Width
}

// fitsToField reports whether text shows whole in the To field when it
// is width wide: the field's text area is its width less the picker's
// button (an icon with padding) and its own padding on both sides.
func fitsToField(text string, width float32) bool {
	return textWidth(text) <= width-theme.IconInlineSize()-4*theme.InnerPadding()
}

// toColumn stacks the To field and the lines under it at the field's
// width, with padding only between lines that take room (the recipient
// line takes none while the field shows everything).
type toColumn struct{}

func (toColumn) MinSize(objects []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objects {
		if !o.Visible() {
			continue
		}
		m := o.MinSize()
		s.Width = fyne.Max(s.Width, m.Width)
		if m.Height > 0 {
			if s.Height > 0 {
				s.Height += theme.Padding()
			}
			s.Height += m.Height
		}
	}
	return s
}

func (toColumn) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	y := float32(0)
	for _, o := range objects {
		if !o.Visible() {
			continue
		}
		h := o.MinSize().Height
		if h > 0 && y > 0 {
			y += theme.Padding()
		}
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, h))
		// (Resize may have given the recipient line its text.)
		if h2 := o.MinSize().Height; h2 != h {
			o.Resize(fyne.NewSize(size.Width, h2))
			h = h2
		}
		y += h
	}
}
