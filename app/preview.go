package app

import (
	"errors"
	"image"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/internal/doccheck"
)

// previewPixels is the size, in pixels, that a document's first page is
// rendered to fit for the in-app preview: enough to read a prescription.
const previewPixels = 900

// previewHeight is the height, in Fyne units, the preview is shown at
// (its width follows the page's proportions).
const previewHeight = 520

// docPreview is the in-app picture of a document's first page under its
// row, hidden until Preview is pressed.
type docPreview struct {
	root  *fyne.Container
	image *canvas.Image
	title *widget.Label
}

func newPreview() *docPreview {
	p := &docPreview{image: canvas.NewImageFromImage(nil), title: &widget.Label{Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Italic: true}}}
	p.image.FillMode = canvas.ImageFillContain
	p.image.ScaleMode = canvas.ImageScaleSmooth
	p.root = container.NewVBox(p.title, p.image)
	p.root.Hide()
	return p
}

// show shows img as the first page.
func (p *docPreview) show(img image.Image, caption string) {
	p.image.Image = img
	b := img.Bounds()
	h := float32(previewHeight)
	w := h * float32(b.Dx()) / float32(max(b.Dy(), 1))
	p.image.SetMinSize(fyne.NewSize(w, h))
	p.image.Refresh()
	p.title.SetText(caption)
	p.root.Show()
}

// preview renders the first page of a document off the UI goroutine and
// shows it under its row: path finds the file (decrypting it for a store
// that keeps documents encrypted; the temporary copy is removed once
// rendered); only a PDF, TIFF, JPEG or PNG whose content matches its
// name is rendered (doccheck.Check, then doccheck.Thumbnail). say tells
// the outcome next to the buttons. When path fails, refused (if set) may
// take the error over (a question desk still wants answered): then the
// message is cleared.
func (t *inboxTab) preview(p *docPreview, name, shown string, path func() (string, bool, error), say func(string, widget.Importance), refused func(error) bool) {
	thumbnail := t.thumbnail
	if thumbnail == nil {
		thumbnail = doccheck.Thumbnail
	}
	go func() {
		var pathErr error
		img, msg, imp := renderPreview(name, shown, func() (string, bool, error) {
			p, temporary, err := path()
			pathErr = err
			return p, temporary, err
		}, thumbnail)
		fyne.Do(func() {
			if pathErr != nil && refused != nil && refused(pathErr) {
				say("", widget.MediumImportance) // no longer "Making the preview…": a question is asked
				if t.previewDone != nil {
					t.previewDone()
				}
				return
			}
			if img != nil {
				p.show(img, "First page of "+shown+". Use Open to see every page, or Save as… to keep it.")
			}
			say(msg, imp)
			if t.previewDone != nil {
				t.previewDone()
			}
		})
	}()
}

// renderPreview makes the picture of the first page, or says why there is
// none in plain words.
func renderPreview(name, shown string, path func() (string, bool, error), thumbnail func(*doccheck.Info, int) (image.Image, error)) (image.Image, string, widget.Importance) {
	p, temporary, err := path()
	if err != nil {
		return nil, "No preview: " + sentence(err.Error()), widget.DangerImportance
	}
	if temporary {
		defer os.Remove(p)
	}
	head, err := readHead(p)
	if err != nil {
		return nil, "No preview: " + sentence(err.Error()), widget.DangerImportance
	}
	if _, ok := doccheck.Openable(name, head); !ok {
		return nil, "No preview: " + shown + " is not a PDF, TIFF, JPEG or PNG whose content matches its name. Use Save as… and check it before opening it.", widget.WarningImportance
	}
	info, err := doccheck.Check(p)
	if err != nil {
		return nil, "No preview: " + sentence(err.Error()), widget.WarningImportance
	}
	img, err := thumbnail(info, previewPixels)
	switch {
	case errors.Is(err, doccheck.ErrNoPDFRenderer):
		return nil, "No preview: PDF pages cannot be drawn here (poppler-utils is not installed) — use Open or Save as….", widget.WarningImportance
	case err != nil:
		return nil, "No preview of " + shown + ": " + sentence(err.Error()) + " Use Open or Save as….", widget.WarningImportance
	}
	return img, "", widget.MediumImportance
}
