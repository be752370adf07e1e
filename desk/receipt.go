package desk

import (
	"encoding/json"
	"errors"

	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/send"
)

// WriteReceipt writes the transmission receipt of a delivery (res as
// JSON) to path, atomically and readable by the user only, when there is
// one to write: res exists, a recipient accepted the message, and the
// delivery succeeded or failed only because some recipients were
// rejected. It reports whether it wrote one.
func WriteReceipt(path string, res *send.Result, sendErr error) (bool, error) {
	if res == nil || len(res.Accepted) == 0 || (sendErr != nil && !errors.Is(sendErr, send.ErrRecipientsRejected)) {
		return false, nil
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return false, err
	}
	if err := atomicfile.WriteFile(path, append(data, '\n')); err != nil {
		return false, err
	}
	return true, nil
}
