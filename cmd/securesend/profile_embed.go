package main

import (
	"embed"
	"io/fs"

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

// loadOrgProfile finds and verifies the organisation profile in force,
// as the app does at start (desk.Desk.Profile: baked, OS system-wide and
// $SECURESEND_SYSTEM_DIR profiles against the pinned admin key, no
// rollback) and records a new serial in the audit log. Every command but
// admin and the GUI call it first and stop on error: a tampered, unsigned
// or wrongly signed profile means nothing may be sent.
func loadOrgProfile(e *env) (*profile.Loaded, error) {
	d, err := openDesk(e)
	if err != nil {
		return nil, err
	}
	return d.Profile()
}
