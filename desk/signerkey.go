package desk

import "os"

// SaveSignerKey writes the public key that the verified message carries
// for its signer (receive.Report.SignerKey: a key the key store does not
// hold) to path, a new file (mode 0600, never overwriting one), so that
// it can be imported once its fingerprint is compared with the sender's.
// It reports whether there was a key to write; an error is the file
// system's (*fs.PathError, naming the file).
func (v *Verification) SaveSignerKey(path string) (bool, error) {
	if v.Report.SignerKey == "" {
		return false, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, err
	}
	_, err = f.WriteString(v.Report.SignerKey)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return false, err
	}
	return true, nil
}
