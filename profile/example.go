package profile

import (
	"fmt"
	"strconv"
	"strings"
)

// Example returns a commented example profile for orgName that parses as is
// (no accounts, no directory entries yet): the file "securesend admin profile
// init" writes. docs/profile.md describes every field.
func Example(orgName string) []byte {
	return fmt.Appendf(nil, exampleTemplate, strconv.Quote(orgName))
}

const exampleTemplate = `# securesend organisation profile (format 1). Reference: docs/profile.md
#
# Sign it after every change:   securesend admin profile sign --profile profile.toml --key admin-key.private.asc
# Increase "serial" with every version you hand out: installations refuse a
# profile with a lower serial than one they have already used.

format = 1
serial = 1

# Settings staff cannot change, not even to make them stricter. Known names:
#   policy.min_tls, policy.encryption, policy.require_requiretls,
#   policy.allowed_recipient_domains, policy.max_attachment_mb,
#   accounts (no own accounts or server changes), directory (no edits to it)
locked = ["policy.min_tls", "policy.encryption", "accounts"]

[organisation]
name = %s          # shown in the title bar
# logo_png_base64 = "iVBORw0KGgo..."   # optional PNG logo, base64, at most 512 KiB

[policy]
min_tls = "1.2"                  # "1.2" or "1.3"; staff may only raise it
encryption = "always"            # "always", "domains" (see encrypt_domains) or "auto"
# encrypt_domains = ["pharmacy.example.nz"]
require_requiretls = false       # true: refuse servers without REQUIRETLS (RFC 8689)
allowed_recipient_domains = []   # empty: any domain; otherwise only these
max_attachment_mb = 25           # per document; 0 = no limit
users_may_add_recipients = false # false: only the directory below
users_may_add_keys = false       # false: only the directory's keys count

# Mail-server templates; staff pick one and sign in with their own account.
# [[account]]
# name = "Practice mailbox (Microsoft 365)"
# smtp_host = "smtp.office365.com"
# smtp_port = 587
# smtp_security = "starttls"     # "tls" (port 465, preferred) or "starttls"
# imap_host = "outlook.office365.com"
# imap_port = 993
# imap_security = "tls"
# auth = "oauth2"                # "password" or "oauth2"
# oauth_provider = "microsoft"   # "microsoft" or "google"
# oauth_tenant = "contoso.onmicrosoft.com"
# ca_pem = '''
# -----BEGIN CERTIFICATE-----
# ...organisation CA, only if your servers use one...
# -----END CERTIFICATE-----
# '''

# Recipient directory; the keys here count as pinned. Add entries with
#   securesend admin profile add-recipient --profile profile.toml --email ... --name ... --key key.asc
# [[recipient]]
# name = "Main Street Pharmacy"
# email = "orders@mainst-pharmacy.example.nz"
# organisation = "Main Street Pharmacy Ltd"
# hpi_org_id = "G00001-A"        # optional
# hpi_facility_id = "F0A1B2-C"   # optional
# public_key = '''
# -----BEGIN PGP PUBLIC KEY BLOCK-----
# ...
# -----END PGP PUBLIC KEY BLOCK-----
# '''
`

// RecipientTOML renders one [[recipient]] block for appending to a profile.
func RecipientTOML(r Recipient) []byte {
	b := fmt.Appendf(nil, "\n[[recipient]]\nname = %s\nemail = %s\n", strconv.Quote(r.Name), strconv.Quote(r.Email))
	if r.Organisation != "" {
		b = fmt.Appendf(b, "organisation = %s\n", strconv.Quote(r.Organisation))
	}
	if r.HPIOrgID != "" {
		b = fmt.Appendf(b, "hpi_org_id = %s\n", strconv.Quote(r.HPIOrgID))
	}
	if r.HPIFacilityID != "" {
		b = fmt.Appendf(b, "hpi_facility_id = %s\n", strconv.Quote(r.HPIFacilityID))
	}
	if len(r.RelayAliases) > 0 {
		q := make([]string, len(r.RelayAliases))
		for i, a := range r.RelayAliases {
			q[i] = strconv.Quote(a)
		}
		b = fmt.Appendf(b, "relay_aliases = [%s]\n", strings.Join(q, ", "))
	}
	return fmt.Appendf(b, "public_key = '''\n%s'''\n", ensureNL(r.PublicKey))
}

func ensureNL(s string) string {
	if len(s) > 0 && s[len(s)-1] != '\n' {
		return s + "\n"
	}
	return s
}
