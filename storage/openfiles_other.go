//go:build !unix

package storage

// maxOpenFiles is Pebble's default where file descriptor limits are not
// read.
func maxOpenFiles() int { return 1000 }
