package doccheck

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/fault"
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
	if err := imagesToPDF(out, readers); err != nil {
		return fmt.Errorf("doccheck: combine: %w", err)
	}
	return nil
}

// imagesToPDF writes a new PDF to w with one A4 page per image (per page of
// a multi-page TIFF), the image scaled to fill the page, as pdfcpu's
// api.ImportImages(nil, w, imgs, imp, conf) does with the default import
// configuration and Scale 1. It uses pdfcpu's lower-level packages for the
// reason given at readAndValidate.
func imagesToPDF(w io.Writer, imgs []io.Reader) (err error) {
	defer fault.Catch(&err)
	imp := pdfcpu.DefaultImportConfig()
	imp.Scale = 1.0
	conf := model.NewDefaultConfiguration()
	conf.Cmd = model.IMPORTIMAGES
	ctx, err := pdfcpu.CreateContextWithXRefTable(conf, imp.PageDim)
	if err != nil {
		return fmt.Errorf("create PDF: %w", err)
	}
	pagesRef, err := ctx.Pages()
	if err != nil {
		return fmt.Errorf("page tree: %w", err)
	}
	if pagesRef == nil {
		return fmt.Errorf("page tree: missing")
	}
	pages, err := ctx.DereferenceDict(*pagesRef)
	if err != nil || pages == nil {
		return fmt.Errorf("page tree: missing dictionary (%v)", err)
	}
	for i, r := range imgs {
		refs, err := pdfcpu.NewPagesForImage(ctx.XRefTable, r, pagesRef, imp)
		if err != nil {
			return fmt.Errorf("image %d: %w", i+1, err)
		}
		for _, ref := range refs {
			if ref == nil {
				return fmt.Errorf("image %d: missing page", i+1)
			}
			if err := ctx.SetValid(*ref); err != nil {
				return fmt.Errorf("image %d: %w", i+1, err)
			}
			if err := model.AppendPageTree(ref, 1, pages); err != nil {
				return fmt.Errorf("image %d: %w", i+1, err)
			}
			ctx.PageCount++
		}
	}
	bw := bufio.NewWriter(w)
	ctx.Write.Writer = bw
	if err := pdfcpu.WriteContext(ctx); err != nil {
		return fmt.Errorf("write PDF: %w", err)
	}
	return bw.Flush()
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
