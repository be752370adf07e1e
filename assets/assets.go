// Package assets holds the files built into the securesend binary: the app
// icon and the sample documents that demo mode offers.
package assets

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2"
)

//go:generate go run icon_gen.go icon.png

//go:embed icon.png
var iconPNG []byte

// Icon is the app icon (512×512 PNG).
var Icon = fyne.NewStaticResource("icon.png", iconPNG)

//go:embed samples/sample-prescription.pdf samples/sample-referral.tif
var samples embed.FS

// SampleNames are the sample documents, in the order the demo offers them.
var SampleNames = []string{"sample-prescription.pdf", "sample-referral.tif"}

// WriteSamples writes the sample documents into dir (created if needed) and
// returns their paths, so they can be sent like any file the user picks.
func WriteSamples(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	var paths []string
	for _, name := range SampleNames {
		data, err := samples.ReadFile("samples/" + name)
		if err != nil {
			return nil, fmt.Errorf("assets: %w", err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return nil, fmt.Errorf("assets: %w", err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}
