package packaging

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode"

	"github.com/securesend/securesend/profile"
)

// MSI layout. The names here are what deployment tools and support staff
// see, so they are stable across releases.
const (
	// msiProgID is the file-type class registered for .eml files.
	msiProgID = "securesend.eml"
	// msiProfileDir is the folder under %ProgramData% that the Windows
	// build reads the system-wide profile from (profile.OSSystemDir).
	msiProfileDir = "securesend"
)

// guidNamespace is the UUID namespace (RFC 9562 version 5) of every GUID
// this package derives: the MSI upgrade code, product codes and component
// codes. Changing it would make new MSIs unable to upgrade old ones.
var guidNamespace = [16]byte{0x3e, 0x51, 0x0c, 0x6a, 0x8f, 0x27, 0x4b, 0x1d, 0x9a, 0x55, 0x61, 0x0e, 0x2c, 0x7d, 0x93, 0xb4}

// nameGUID returns the version 5 UUID of name in guidNamespace, upper-case
// in braces as Windows Installer writes GUIDs.
func nameGUID(name string) string {
	h := sha1.New()
	h.Write(guidNamespace[:])
	h.Write([]byte(name))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return strings.ToUpper(fmt.Sprintf("{%x-%x-%x-%x-%x}", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]))
}

// UpgradeCode returns the MSI upgrade code of the installers built for
// appID. It depends on nothing else (not the profile, its serial or the
// admin key), so every later MSI of the same app id upgrades an earlier one
// in place, also across an admin key rotation.
func UpgradeCode(appID string) string { return nameGUID("upgrade-code\x00" + appID) }

// MSIVersion returns the MSI ProductVersion for app version "x.y.z" and a
// profile serial: "x.y.serial". Windows Installer compares only these three
// fields (at most 255.255.65535) to decide on an upgrade, so a newer
// profile serial of the same app version upgrades in place, and so does a
// newer app version.
func MSIVersion(appVersion string, serial int64) (string, error) {
	parts := strings.Split(appVersion, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return "", fmt.Errorf("packaging: app version %q: want x.y.z", appVersion)
	}
	var n [2]int
	for i := range n {
		v, err := strconv.Atoi(parts[i])
		if err != nil || v < 0 || v > 255 {
			return "", fmt.Errorf("packaging: app version %q: an MSI version's first two fields are numbers from 0 to 255", appVersion)
		}
		n[i] = v
	}
	if serial < 0 || serial > 65535 {
		return "", fmt.Errorf("packaging: profile serial %d: the MSI version carries the serial in its build field, which holds 0 to 65535; give the profile a smaller serial (serials only need to increase)", serial)
	}
	return fmt.Sprintf("%d.%d.%d", n[0], n[1], serial), nil
}

// msiSpec is what the WiX source is made from: fixed names, GUIDs and
// numbers only. Text from the profile (the organisation's name) and the
// admin key never enters the source: it is handed to wixl as preprocessor
// variables (see msiVars), which wixl inserts as literal text.
type msiSpec struct {
	Version, UpgradeCode, ProductCode string
	HasContact                        bool
	Exe, Icon                         string // source files, relative to the work directory
	ProfileFiles                      []msiFile
	ProgID                            string
	AppID                             string
}

type msiFile struct{ ID, Name, Source string }

// GUID returns the component code of component id: stable across
// releases, as Windows Installer's component rules require for a component
// installing the same files at the same place.
func (s msiSpec) GUID(id string) string { return nameGUID("component\x00" + s.AppID + "\x00" + id) }

// wxsTemplate is the WiX 3 source for wixl. Notes:
//   - wixl's preprocessor expands $(...) anywhere in the source and its
//     "$$" escape does not hold ("$$(var.X)" is still expanded), so text
//     from the profile comes in only as $(var.NAME) values given with -D,
//     which wixl inserts literally; x rejects "$" in everything else;
//   - Formatted columns (registry values, shortcut target) hold only fixed
//     text and [INSTALLDIR], never profile text, so "[" in an organisation
//     name cannot reference a property;
//   - the upgrade table comes from MajorUpgrade: every older version of the
//     same upgrade code is removed before this one is installed, and a newer
//     one already installed stops the install with a message;
//   - .eml: a ProgID with an open verb, offered for .eml and message/rfc822
//     through OpenWithProgids and the Default Apps capabilities; the user's
//     or the admin's default-apps choice is left alone.
var wxsTemplate = template.Must(template.New("wxs").Funcs(template.FuncMap{"x": wxsEscape}).Parse(`<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="{{x .ProductCode}}" Name="$(var.ProductName)" Manufacturer="$(var.Manufacturer)" Version="{{x .Version}}" UpgradeCode="{{x .UpgradeCode}}" Language="1033" Codepage="65001">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine" Description="$(var.ProductName)" Comments="$(var.Comments)" Manufacturer="$(var.Manufacturer)"/>
    <Media Id="1" Cabinet="securesend.cab" EmbedCab="yes"/>
    <MajorUpgrade DowngradeErrorMessage="A newer securesend (a later profile serial or app version) is already installed on this computer. Uninstall it first to go back to this one."/>
    <Icon Id="securesend.ico" SourceFile="{{x .Icon}}"/>
    <Property Id="ARPPRODUCTICON" Value="securesend.ico"/>
    <Property Id="ARPNOMODIFY" Value="1"/>
{{- if .HasContact}}
    <Property Id="ARPCONTACT" Value="$(var.Contact)"/>
{{- end}}
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="securesend">
          <Component Id="App" Guid="{{x (.GUID "App")}}" Win64="yes">
            <File Id="securesend.exe" Name="securesend.exe" Source="{{x .Exe}}" KeyPath="yes"/>
            <Shortcut Id="StartMenu" Directory="ProgramMenuFolder" Name="securesend" Target="[INSTALLDIR]securesend.exe" WorkingDirectory="INSTALLDIR" Icon="securesend.ico" Description="Send and receive signed, encrypted health documents"/>
            <RegistryValue Root="HKLM" Key="Software\Classes\{{x .ProgID}}" Type="string" Value="E-mail message (securesend)"/>
            <RegistryValue Root="HKLM" Key="Software\Classes\{{x .ProgID}}\DefaultIcon" Type="string" Value="&quot;[INSTALLDIR]securesend.exe&quot;,0"/>
            <RegistryValue Root="HKLM" Key="Software\Classes\{{x .ProgID}}\shell\open\command" Type="string" Value="&quot;[INSTALLDIR]securesend.exe&quot; &quot;%1&quot;"/>
            <RegistryValue Root="HKLM" Key="Software\Classes\.eml\OpenWithProgids" Name="{{x .ProgID}}" Type="string" Value=""/>
            <RegistryValue Root="HKLM" Key="Software\Classes\Applications\securesend.exe\SupportedTypes" Name=".eml" Type="string" Value=""/>
            <RegistryValue Root="HKLM" Key="Software\Classes\Applications\securesend.exe\shell\open\command" Type="string" Value="&quot;[INSTALLDIR]securesend.exe&quot; &quot;%1&quot;"/>
            <RegistryValue Root="HKLM" Key="Software\securesend\Capabilities" Name="ApplicationName" Type="string" Value="securesend"/>
            <RegistryValue Root="HKLM" Key="Software\securesend\Capabilities" Name="ApplicationDescription" Type="string" Value="Verifies signed, encrypted health documents received by e-mail"/>
            <RegistryValue Root="HKLM" Key="Software\securesend\Capabilities\FileAssociations" Name=".eml" Type="string" Value="{{x .ProgID}}"/>
            <RegistryValue Root="HKLM" Key="Software\securesend\Capabilities\MIMEAssociations" Name="message/rfc822" Type="string" Value="{{x .ProgID}}"/>
            <RegistryValue Root="HKLM" Key="Software\RegisteredApplications" Name="securesend" Type="string" Value="Software\securesend\Capabilities"/>
          </Component>
        </Directory>
      </Directory>
      <Directory Id="CommonAppDataFolder">
        <Directory Id="PROFILEDIR" Name="` + msiProfileDir + `">
          <Component Id="Profile" Guid="{{x (.GUID "Profile")}}" Win64="yes">
{{- range $i, $f := .ProfileFiles}}
            <File Id="{{x $f.ID}}" Name="{{x $f.Name}}" Source="{{x $f.Source}}"{{if eq $i 0}} KeyPath="yes"{{end}}/>
{{- end}}
          </Component>
        </Directory>
      </Directory>
      <Directory Id="ProgramMenuFolder"/>
    </Directory>
    <Feature Id="Complete" Title="securesend" Level="1">
      <ComponentRef Id="App"/>
      <ComponentRef Id="Profile"/>
    </Feature>
  </Product>
</Wix>
`))

// wxsEscape XML-escapes a value of the WiX source, which only this
// package's own names, GUIDs and numbers reach. It fails the template on a
// "$", which wixl's preprocessor would expand.
func wxsEscape(s string) (string, error) {
	if strings.Contains(s, "$") {
		return "", fmt.Errorf("%q: a WiX source value cannot hold \"$\"", s)
	}
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s)) //nolint:errcheck // a bytes.Buffer does not fail
	return b.String(), nil
}

// wixlVar makes s a wixl -D value: printable characters only (a line break
// or control character would end up in Windows' Add/Remove Programs list).
func wixlVar(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
}

// buildMSI packages exe (already signed when signing is asked for) with
// the baked profile into a per-machine MSI at out. dir is a private work
// directory.
func buildMSI(ctx context.Context, o Options, p *profile.Profile, dir, exe, out string) error {
	if _, err := exec.LookPath("wixl"); err != nil {
		return fmt.Errorf("packaging: the MSI is built with wixl, which is not installed (on Debian: apt-get install wixl); or build only the .exe with --msi=false: %w", err)
	}
	version, err := MSIVersion(o.Version, p.Serial)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("packaging: %w", err)
	}
	icon, err := os.ReadFile(o.Icon)
	if err != nil {
		return fmt.Errorf("packaging: icon: %w", err)
	}
	ico, err := icoFromPNG(icon)
	if err != nil {
		return err
	}
	vars := map[string]string{
		"ProductName":  "securesend (" + p.Organisation.Name + ")",
		"Manufacturer": p.Organisation.Name,
		"Comments":     fmt.Sprintf("Profile serial %d, signed by admin key %s", p.Serial, o.Baked.Fingerprint),
	}
	spec := msiSpec{
		Version:     version,
		UpgradeCode: UpgradeCode(o.AppID),
		// Derived from the version: rebuilding the same version gives the
		// same product code, so Windows Installer refuses to install it a
		// second time beside the first instead of listing it twice.
		ProductCode: nameGUID("product-code\x00" + o.AppID + "\x00" + version),
		Exe:         "securesend.exe",
		Icon:        "securesend.ico",
		ProgID:      msiProgID,
		AppID:       o.AppID,
	}
	if _, email := maintainer(p, o.Baked.AdminKey); email != "" {
		vars["Contact"], spec.HasContact = email, true
	}
	// wixl takes sources relative to its working directory only.
	if err := copyFile(exe, filepath.Join(dir, spec.Exe)); err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{
		{profile.ProfileFile, o.Baked.Profile},
		{profile.SignatureFile, o.Baked.Signature},
		{profile.AdminKeyFile, o.Baked.AdminKey},
		{profile.FingerprintFile, []byte(o.Baked.Fingerprint + "\r\n")},
	}
	if err := os.WriteFile(filepath.Join(dir, spec.Icon), ico, 0o600); err != nil {
		return fmt.Errorf("packaging: %w", err)
	}
	for i, f := range files {
		if len(f.data) == 0 {
			return fmt.Errorf("packaging: the bundle has no %s to install", f.name)
		}
		src := filepath.Join(dir, f.name)
		if err := os.WriteFile(src, f.data, 0o600); err != nil {
			return fmt.Errorf("packaging: %w", err)
		}
		spec.ProfileFiles = append(spec.ProfileFiles, msiFile{ID: fmt.Sprintf("ProfileFile%d", i), Name: f.name, Source: f.name})
	}
	var wxs bytes.Buffer
	if err := wxsTemplate.Execute(&wxs, spec); err != nil {
		return fmt.Errorf("packaging: WiX source: %w", err)
	}
	src := filepath.Join(dir, "securesend.wxs")
	if err := os.WriteFile(src, wxs.Bytes(), 0o600); err != nil {
		return fmt.Errorf("packaging: %w", err)
	}
	args := []string{"--arch", "x64", "--output", out}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		args = append(args, "--define", k+"="+wixlVar(vars[k]))
	}
	if err := run(ctx, o.Log, dir, nil, "wixl", append(args, filepath.Base(src))...); err != nil {
		return err
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		return errors.New("packaging: wixl wrote no MSI")
	}
	return nil
}

// copyFile copies from to a new file to.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("packaging: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("packaging: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("packaging: %w", err)
	}
	return out.Close()
}
