package mailserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ownerFile names the file in a server directory that holds the process id
// of the process that started the servers.
const ownerFile = "owner.pid"

// writeOwner records this process as the owner of s.Dir.
func (s *Server) writeOwner() error {
	return os.WriteFile(filepath.Join(s.Dir, ownerFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// reapStale stops the servers left in temporary directories by processes
// that died without stopping them (a test killed by -timeout, say), and
// removes those directories. Directories of live owners are left alone.
func reapStale(ctx context.Context) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "securesend-mail-*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not ours, or still being set up
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		s := &Server{
			Dir:         dir,
			postfixDir:  filepath.Join(dir, "postfix", "etc"),
			queueDir:    filepath.Join(dir, "postfix", "queue"),
			dovecotConf: filepath.Join(dir, "dovecot", "dovecot.conf"),
			removeDir:   true,
		}
		s.postfixUp = pidFileAlive(filepath.Join(s.queueDir, "pid", "master.pid"))
		s.dovecotUp = pidFileAlive(filepath.Join(dir, "dovecot", "run", "master.pid"))
		if err := s.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "mailserver: cleaning up after dead process %d: %v\n", pid, err)
		}
	}
}

// pidFileAlive reports whether the process named in a pid file runs.
func pidFileAlive(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	return err == nil && pid > 0 && processAlive(pid)
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
