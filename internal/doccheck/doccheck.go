// Package doccheck decides whether a file can be sent as a scanned health
// document, and prepares it: it recognises PDF, TIFF (also multi-page), JPEG
// and PNG by their content, counts pages, makes thumbnails, and combines
// images and TIFF pages into one PDF.
//
// Promises: a file is accepted only when its content is one of those four
// types (the file name does not count) and it can be read as such; PDFs are
// read and validated with pdfcpu, images' headers are decoded. Every refusal
// is an *Error whose Reason is a plain sentence for the user.
//
// It refuses: empty files, directories, unreadable files, other types
// (including BigTIFF), corrupt or password-protected PDFs, images larger than
// MaxPixels.
package doccheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register decoders
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/fault"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/validate"
	_ "golang.org/x/image/tiff" // register decoder
)

func init() {
	// Without this pdfcpu writes a configuration directory into the user's
	// config directory on first use.
	model.ConfigPath = "disable"
}

// Kind is a supported document type.
type Kind string

// The supported kinds.
const (
	PDF  Kind = "PDF"
	TIFF Kind = "TIFF"
	JPEG Kind = "JPEG"
	PNG  Kind = "PNG"
)

// ContentType returns the media type of k.
func (k Kind) ContentType() string {
	switch k {
	case PDF:
		return "application/pdf"
	case TIFF:
		return "image/tiff"
	case JPEG:
		return "image/jpeg"
	case PNG:
		return "image/png"
	}
	return "application/octet-stream"
}

// IsImage reports whether k is an image type (can be combined into a PDF).
func (k Kind) IsImage() bool { return k == TIFF || k == JPEG || k == PNG }

// MaxPixels is the largest image (width × height, per page) accepted: a
// A4 page scanned at 1200 dpi is about 140 million pixels.
const MaxPixels = 200_000_000

// Info describes an accepted document.
type Info struct {
	Path string
	// Name is the file name without directories.
	Name        string
	Kind        Kind
	ContentType string
	Size        int64
	// Pages is the number of pages (1 for JPEG and PNG).
	Pages int
	// Width and Height are the pixel size of the (first) image; 0 for PDFs.
	Width, Height int
}

// Error is a refusal, with the reason in plain words.
type Error struct {
	Name   string
	Reason string
	Err    error
}

func (e *Error) Error() string { return e.Name + ": " + e.Reason }

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Check opens path and decides whether it can be sent.
func Check(path string) (*Info, error) {
	name := filepath.Base(path)
	fail := func(reason string, err error) (*Info, error) {
		return nil, &Error{Name: name, Reason: reason, Err: err}
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fail("the file does not exist (was it moved or deleted?)", err)
		}
		return fail("the file cannot be read (check that you have permission to open it)", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fail("the file cannot be read", err)
	}
	if st.IsDir() {
		return fail("this is a folder; add the documents inside it instead", nil)
	}
	if !st.Mode().IsRegular() {
		return fail("this is not a regular file", nil)
	}
	if st.Size() == 0 {
		return fail("the file is empty", nil)
	}
	var head [8]byte
	n, err := io.ReadFull(f, head[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fail("the file cannot be read", err)
	}
	kind, reason := sniff(head[:n])
	if kind == "" {
		return fail(reason, nil)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail("the file cannot be read", err)
	}
	info := &Info{Path: path, Name: name, Kind: kind, ContentType: kind.ContentType(), Size: st.Size(), Pages: 1}
	switch kind {
	case PDF:
		ctx, err := readAndValidate(f)
		if err != nil {
			if isPasswordError(err) {
				return fail("the PDF is password-protected; save an unprotected copy and add that", err)
			}
			return fail("the PDF is damaged or not a valid PDF, so it cannot be sent", err)
		}
		if ctx.PageCount < 1 {
			return fail("the PDF has no pages", nil)
		}
		info.Pages = ctx.PageCount
	case TIFF:
		pages, err := tiffPages(f)
		if err != nil {
			return fail("the TIFF file is damaged: "+err.Error(), err)
		}
		info.Pages = pages
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fail("the file cannot be read", err)
		}
		fallthrough
	default:
		cfg, _, err := image.DecodeConfig(bufio.NewReader(f))
		if err != nil {
			return fail(fmt.Sprintf("the %s image is damaged or uses a form that cannot be read", kind), err)
		}
		if cfg.Width <= 0 || cfg.Height <= 0 {
			return fail("the image has no pixels", nil)
		}
		if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
			return fail(fmt.Sprintf("the image is too large (%d × %d pixels); scan at a lower resolution", cfg.Width, cfg.Height), nil)
		}
		info.Width, info.Height = cfg.Width, cfg.Height
	}
	return info, nil
}

// sniff recognises the type from the first bytes, or says why not.
func sniff(b []byte) (Kind, string) {
	switch {
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return PDF, ""
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return TIFF, ""
	case bytes.HasPrefix(b, []byte("II+\x00")), bytes.HasPrefix(b, []byte("MM\x00+")):
		return "", "this is a BigTIFF file, which is not supported; save the scan as an ordinary TIFF or as PDF"
	case bytes.HasPrefix(b, []byte("\xFF\xD8\xFF")):
		return JPEG, ""
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, ""
	}
	return "", "this type of file is not supported; send PDF, TIFF, JPEG or PNG"
}

// readAndValidate reads a PDF and validates its whole cross-reference table
// (every object reachable from the trailer) with pdfcpu's default
// configuration (relaxed validation mode), as pdfcpu's api.ReadAndValidate
// does. It calls pdfcpu's reader and validator directly because package api
// also links pdfcpu's form filling and, through it, go-runewidth, whose
// init builds megabytes of lookup tables (~40 ms and ~2 MB resident at
// every start of the app, which only ever reads and writes plain PDFs).
func readAndValidate(rs io.ReadSeeker) (ctx *model.Context, err error) {
	// pdfcpu reports some failures by panicking with a fault.Panic; Catch
	// turns those into the returned error (other panics propagate).
	defer fault.Catch(&err)
	if ctx, err = pdfcpu.Read(rs, model.NewDefaultConfiguration()); err != nil {
		return nil, fmt.Errorf("read context: %w", err)
	}
	if err := validate.XRefTable(ctx); err != nil {
		return nil, fmt.Errorf("validation error (obj#:%d): %w", ctx.CurObj, err)
	}
	return ctx, nil
}

func isPasswordError(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "password") || strings.Contains(s, "encrypt")
}
