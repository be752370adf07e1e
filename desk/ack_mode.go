package desk

import (
	"fmt"

	"github.com/securesend/securesend/profile"
)

// AcknowledgementMode is the acknowledgement mode of the effective policy
// (the organisation profile's, profile.AckAuto without one), for a front
// end that offers only what Acknowledge will do: nothing under
// profile.AckOff, and "received" by hand under profile.AckManual.
func (d *Desk) AcknowledgementMode() (profile.AckMode, error) {
	pol, _, err := d.Policy(profile.UserSettings{})
	if err != nil {
		return "", fmt.Errorf("reading the acknowledgement policy: %w", err)
	}
	return pol.Acknowledgements(), nil
}
