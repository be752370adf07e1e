package doccheck

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// CombineToPDF writes one PDF to out with a page per image, in order; every
// page of a multi-page TIFF becomes a page. Each page is A4 with the image
// scaled to fill it. Every input must be an image that Check accepted.
func CombineToPDF(ctx context.Context, out io.Writer, images ...*Info) error {
	if len(images) == 0 {
		return fmt.Errorf("doccheck: combine: no images")
	}
	var readers []io.Reader
	for _, info := range images {
		if !info.Kind.IsImage() {
			return fmt.Errorf("doccheck: combine: %s is a %s, not an image", info.Name, info.Kind)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := os.Open(info.Path)
		if err != nil {
			return fmt.Errorf("doccheck: combine: %w", err)
		}
		defer f.Close()
		readers = append(readers, bufio.NewReader(f))
	}
	imp := pdfcpu.DefaultImportConfig()
	imp.Scale = 1.0
	if err := api.ImportImages(nil, out, readers, imp, model.NewDefaultConfiguration()); err != nil {
		return fmt.Errorf("doccheck: combine: %w", err)
	}
	return nil
}

// CombineToFile is CombineToPDF into a new file at path (mode 0600).
func CombineToFile(ctx context.Context, path string, images ...*Info) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("doccheck: combine: %w", err)
	}
	w := bufio.NewWriter(f)
	err = CombineToPDF(ctx, w, images...)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
