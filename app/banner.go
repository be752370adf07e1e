package app

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// banner is a tinted strip with an icon, a bold title and an explanation:
// its meaning never rests on the colour alone.
func banner(icon fyne.Resource, tint fyne.ThemeColorName, title, detail string) *fyne.Container {
	bg := canvas.NewRectangle(withAlpha(theme.Color(tint), 0x40))
	bg.CornerRadius = theme.InputRadiusSize()
	border := canvas.NewRectangle(color.Transparent)
	border.StrokeColor = theme.Color(tint)
	border.StrokeWidth = 2
	border.CornerRadius = theme.InputRadiusSize()
	img := widget.NewIcon(icon)
	text := container.NewVBox(
		&widget.Label{Text: title, TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord},
	)
	if detail != "" {
		text.Add(&widget.Label{Text: detail, Wrapping: fyne.TextWrapWord})
	}
	return container.NewStack(bg, border, container.NewPadded(
		container.NewBorder(nil, nil, container.NewCenter(img), nil, text)))
}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}

// collapsibleBanner is a banner whose explanation folds away behind a
// More button, so that it takes one line of a small screen until asked.
// It starts folded; toggle is the More/Less button.
func collapsibleBanner(icon fyne.Resource, tint fyne.ThemeColorName, title, detail string) (c *fyne.Container, toggle *focusButton) {
	bg := canvas.NewRectangle(withAlpha(theme.Color(tint), 0x40))
	bg.CornerRadius = theme.InputRadiusSize()
	border := canvas.NewRectangle(color.Transparent)
	border.StrokeColor = theme.Color(tint)
	border.StrokeWidth = 2
	border.CornerRadius = theme.InputRadiusSize()
	more := &widget.Label{Text: detail, Wrapping: fyne.TextWrapWord}
	more.Hide()
	toggle = newButton("More", theme.MenuDropDownIcon(), widget.LowImportance, nil)
	toggle.OnTapped = func() {
		if more.Visible() {
			more.Hide()
			toggle.SetText("More")
			toggle.SetIcon(theme.MenuDropDownIcon())
		} else {
			more.Show()
			toggle.SetText("Less")
			toggle.SetIcon(theme.MenuDropUpIcon())
		}
	}
	head := container.NewBorder(nil, nil, container.NewCenter(widget.NewIcon(icon)), toggle,
		&widget.Label{Text: title, TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord})
	return container.NewStack(bg, border, container.NewPadded(container.NewVBox(head, more))), toggle
}
