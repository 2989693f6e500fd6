package snapshot

import (
	"fmt"
	"os"
	"path/filepath"
)

// SaveFile writes a file at path atomically: fill (called with a temporary
// file in the same directory) writes its contents, which are fsynced and
// renamed over path, and then the directory is fsynced. On any error the
// temporary file is removed and path is left as it was.
func SaveFile(path string, fill func(f *os.File) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "temp-"+filepath.Base(path)+"-*.rdb")
	if err != nil {
		return fmt.Errorf("snapshot: creating a temporary file in %s: %w", dir, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp makes the file 0600; Redis's are 0644 less the umask.
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("snapshot: chmod %s: %w", tmp, err)
	}
	if err = fill(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("snapshot: fsync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("snapshot: closing %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("snapshot: renaming %s to %s: %w", tmp, path, err)
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory, so that a rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("snapshot: opening directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("snapshot: fsync directory %s: %w", dir, err)
	}
	return nil
}
