package main

import (
	"embed"
	"fmt"
	"io/fs"
	"runtime"

	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/profile"
)

// bakedFiles is the organisation profile and pinned admin key that
// "securesend admin package" bakes into an installer build with
// go build -overlay (see baked/README.md). In a build from source the
// directory holds only its README: the build is unconfigured.
//
//go:embed baked
var bakedFiles embed.FS

// bakedProfile returns what this binary carries.
func bakedProfile() (profile.Baked, error) {
	sub, err := fs.Sub(bakedFiles, "baked")
	if err != nil {
		return profile.Baked{}, err
	}
	return profile.BakedFromFS(sub)
}

// profileStateFile is where the highest profile serial seen is remembered.
func profileStateFile(h home.Home) string { return h.Path("profile-serials") }

// loadOrgProfile finds and verifies the organisation profile as the app does
// at start: the profile baked into this binary and the system-wide one, each
// verified against the pinned admin key, highest serial wins, no rollback.
// Every command that sends, receives or configures accounts, and the GUI,
// must call it first and stop on error: a tampered, unsigned or wrongly
// signed profile means nothing may be sent.
func loadOrgProfile(e *env) (*profile.Loaded, error) {
	b, err := bakedProfile()
	if err != nil {
		return nil, err
	}
	h, err := home.Resolve(e.getenv)
	if err != nil {
		return nil, err
	}
	l, err := profile.Load(profile.LoadOptions{
		Baked:     b,
		SystemDir: profile.SystemDir(runtime.GOOS, e.getenv),
		StateFile: profileStateFile(h),
	})
	if err != nil {
		return nil, fmt.Errorf("organisation profile: %w", err)
	}
	return l, nil
}
