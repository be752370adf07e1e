package xoauth2

import "testing"

// FuzzServer feeds arbitrary initial responses to the server: it must never
// panic, and accept only well-formed responses whose token the
// authenticator accepted.
func FuzzServer(f *testing.F) {
	f.Add([]byte("user=a@example.test\x01auth=Bearer tok\x01\x01"))
	f.Add([]byte("user=\x01auth=Bearer \x01\x01"))
	f.Add([]byte("auth=bearer x\x01user=y\x01\x01"))
	f.Add([]byte("\x01\x01"))
	f.Fuzz(func(t *testing.T, resp []byte) {
		var gotUser, gotToken string
		s := NewServer(func(user, token string) error {
			gotUser, gotToken = user, token
			return nil
		})
		_, done, err := s.Next(resp)
		if err == nil && done && (gotUser == "" || gotToken == "") {
			t.Fatalf("accepted %q without a user and token", resp)
		}
	})
}
