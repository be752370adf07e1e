package packaging

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// buildDeb builds a .deb installing the binary in /usr/bin, with a desktop
// entry and icon. It returns "" when dpkg-deb is not installed.
func buildDeb(ctx context.Context, o Options, tmp, exe, base string, serial int64) (string, error) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		fmt.Fprintln(o.Log, "dpkg-deb not installed: no .deb built")
		return "", nil
	}
	root := filepath.Join(tmp, "deb")
	icon, err := os.ReadFile(o.Icon)
	if err != nil {
		return "", fmt.Errorf("packaging: icon: %w", err)
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		return "", err
	}
	arch := map[string]string{"amd64": "amd64", "arm64": "arm64"}[o.Arch]
	if arch == "" {
		return "", fmt.Errorf("packaging: no .deb for %s", o.Arch)
	}
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{"DEBIAN/control", fmt.Appendf(nil, `Package: securesend
Version: %s+profile%d
Architecture: %s
Maintainer: securesend packager <root@localhost>
Section: mail
Priority: optional
Description: securesend, preconfigured for your organisation
 Sends scanned health documents over TLS-enforced, OpenPGP-protected e-mail.
 This package carries your organisation's signed profile.
`, o.Version, serial, arch), 0o644},
		{"usr/bin/securesend", bin, 0o755},
		{"usr/share/applications/" + o.AppID + ".desktop", fmt.Appendf(nil, "[Desktop Entry]\nType=Application\nName=securesend\nExec=securesend\nIcon=%s\nCategories=Office;Network;\n", o.AppID), 0o644},
		{"usr/share/pixmaps/" + o.AppID + ".png", icon, 0o644},
	}
	for _, f := range files {
		p := filepath.Join(root, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return "", err
		}
	}
	out := filepath.Join(o.OutDir, base+".deb")
	if err := run(ctx, o.Log, tmp, nil, "dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root, out); err != nil {
		return "", err
	}
	return out, nil
}
