// Package storagetest opens real storage for other packages' tests: Pebble
// over an in-memory file system, with a small cache and memtables.
package storagetest

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/fjord-streaming/fjord/storage"
)

// OpenMem opens a storage.DB on a fresh in-memory file system and closes it
// when the test ends, after the cleanups registered later (an engine opened
// on it closes first).
func OpenMem(t testing.TB) *storage.DB {
	t.Helper()
	db, err := storage.Open("db", storage.Options{FS: vfs.NewMem(), CacheBytes: 1 << 20, MemTableBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}
