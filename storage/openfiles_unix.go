//go:build unix

package storage

import "syscall"

// maxOpenFiles is how many sstables and blob files Pebble may keep open: half
// of the process's file descriptor limit (Go raises the soft limit to the
// hard one at start), and never fewer than Pebble's default of 1000. A file
// cache smaller than the database's file count makes every read that
// reaches a closed file open it again.
func maxOpenFiles() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 1000
	}
	return max(1000, int(min(l.Cur/2, 1<<20)))
}
