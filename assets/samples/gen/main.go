// Command gen writes the sample documents in assets/samples: a two-page PDF
// prescription and a two-page bilevel TIFF referral. Both are plainly fake
// ("SAMPLE — NOT A REAL PRESCRIPTION", test NHI ZZZ0016) and byte-for-byte
// reproducible, so the committed files can be checked against this program.
//
// Run from the repository root:
//
//	go run ./assets/samples/gen -out assets/samples
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("out", "assets/samples", "directory to write the samples into")
	flag.Parse()
	if err := writeSamples(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// writeSamples writes both sample files into dir.
func writeSamples(dir string) error {
	pdf, err := prescriptionPDF()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sample-prescription.pdf"), pdf, 0o644); err != nil {
		return err
	}
	tif, err := referralTIFF()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "sample-referral.tif"), tif, 0o644)
}
