package datanode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chkv/chkv/datanode/snapshot"
)

// RDB snapshots (package snapshot does the file work): SAVE, BGSAVE, the
// save rules checked by the cron, the save before a planned stop, and the
// load at start. One save runs at a time.

// bgsaveRetryDelay is how long the save rules wait after a failed
// background save before trying again (Redis's CONFIG_BGSAVE_RETRY_DELAY).
const bgsaveRetryDelay = 5 * time.Second

// SaveRule is one save rule: save after Seconds if at least Changes writes
// happened since the last save.
type SaveRule struct {
	Seconds int64
	Changes int64
}

// errSaveParams is Redis's explanation of a bad save value.
const errSaveParams = "Invalid save parameters"

// ParseSaveRules parses a save value as redis.conf and CONFIG SET take
// it: "<seconds> <changes>" pairs separated by spaces; "" means none.
func ParseSaveRules(v string) ([]SaveRule, error) {
	f := strings.Fields(v)
	if len(f)%2 != 0 {
		return nil, configError(errSaveParams)
	}
	var rules []SaveRule
	for i := 0; i < len(f); i += 2 {
		sec, err1 := strconv.ParseInt(f[i], 10, 64)
		ch, err2 := strconv.ParseInt(f[i+1], 10, 64)
		if err1 != nil || err2 != nil || sec < 1 || ch < 0 {
			return nil, configError(errSaveParams)
		}
		rules = append(rules, SaveRule{Seconds: sec, Changes: ch})
	}
	return rules, nil
}

// formatSaveRules formats rules as CONFIG GET save shows them.
func formatSaveRules(rules []SaveRule) string {
	parts := make([]string, 0, 2*len(rules))
	for _, r := range rules {
		parts = append(parts, strconv.FormatInt(r.Seconds, 10), strconv.FormatInt(r.Changes, 10))
	}
	return strings.Join(parts, " ")
}

// persistState is the saving state INFO persistence reports.
type persistState struct {
	mu        sync.Mutex
	running   bool      // a save (SAVE or BGSAVE) is in progress
	bg        bool      // ... and it is a BGSAVE
	started   time.Time // when it started
	scheduled bool      // BGSAVE SCHEDULE asked for one after it
	bgOK      bool      // the last BGSAVE succeeded (or none ran)
	bgTried   time.Time // when the last BGSAVE started
	bgSecs    int64     // how long the last BGSAVE took, -1 before one
	saves     int64
	// changesAtSave is the store's change count when the last successful
	// save began: the changes since are rdb_changes_since_last_save.
	changesAtSave int64
	lastSave      atomic.Int64 // Unix seconds of the last successful save (or start)
	// bgFailed mirrors !bgOK for the command path (writesDenied).
	bgFailed    atomic.Bool
	loadedKeys  int64
	loadExpired int64
	keysTotal   atomic.Int64 // of the running save
	keysDone    atomic.Int64
}

// initSaved sets the state at start: the data loaded (or none) counts as
// saved at start, as Redis sets lastsave when it starts.
func (p *persistState) initSaved(start time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bgOK, p.bgSecs = true, -1
	if p.lastSave.Load() == 0 {
		p.lastSave.Store(start.Unix())
	}
}

// errMisconf is Redis's refusal of writes after a failed background save.
const errMisconf = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."

// writesDenied reports whether writes (and PING) are refused because the
// last background save failed while save rules are set and
// stop-writes-on-bgsave-error is yes, as Redis does; the next successful
// save lifts it.
func (s *Server) writesDenied(st *Settings) bool {
	return len(st.Save) > 0 && st.StopWritesOnBgsaveError && s.persist.bgFailed.Load()
}

// rdbPath is where the settings put the RDB file.
func rdbPath(st *Settings) string { return filepath.Join(st.Dir, st.DBFilename) }

// errSaveInProgress is Redis's reply to a save while one runs.
const errSaveInProgress = "ERR Background save already in progress"

// beginSave marks a save as running; false if one already is.
func (s *Server) beginSave(bg bool) bool {
	p := &s.persist
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		return false
	}
	p.running, p.bg, p.started = true, bg, time.Now()
	if bg {
		p.bgTried = p.started
	}
	p.keysTotal.Store(int64(s.store.Len()))
	p.keysDone.Store(0)
	return true
}

// saveRDB writes the snapshot file; beginSave must have succeeded, and
// saveRDB ends the save.
func (s *Server) saveRDB(ctx context.Context) error {
	st := s.settings.Load()
	path := rdbPath(st)
	p := &s.persist
	changes := s.store.Changes()
	start := time.Now()
	var stats snapshot.Stats
	err := snapshot.SaveFile(path, func(f *os.File) error {
		var err error
		stats, err = snapshot.Write(ctx, f, snapshot.Options{
			Store: s.store, Encode: appendRDBValue, RedisVersion: redisVersion,
			UsedMem: s.store.UsedBytes(), Now: start,
			Progress: p.keysDone.Store,
		})
		return err
	})
	elapsed := time.Since(start)
	p.mu.Lock()
	if p.bg {
		p.bgOK, p.bgSecs = err == nil, int64(elapsed.Seconds())
		p.bgFailed.Store(err != nil)
	}
	if err == nil {
		p.saves++
		p.changesAtSave = changes
		p.lastSave.Store(start.Unix())
	}
	p.running, p.bg = false, false
	p.mu.Unlock()
	switch {
	case errors.Is(err, snapshot.ErrSaveAborted):
		s.log.Info("background save aborted: the node is stopping", "path", path)
		return err
	case err != nil:
		s.log.Error("saving the RDB snapshot failed", "path", path, "err", err)
		return err
	}
	s.log.Info("DB saved on disk", "path", path, "keys", stats.Keys, "bytes", stats.Bytes, "took", elapsed)
	return nil
}

// startBgsave starts a background save owned by the server's group; false
// if one is running or the server is stopping.
func (s *Server) startBgsave() bool {
	if !s.beginSave(true) {
		return false
	}
	ok := s.group.Go(func(ctx context.Context) {
		s.saveRDB(ctx) //nolint:errcheck // logged and reported by INFO
	})
	if !ok {
		s.persist.mu.Lock()
		s.persist.running, s.persist.bg = false, false
		s.persist.mu.Unlock()
	}
	return ok
}

// persistCron starts a background save that BGSAVE SCHEDULE asked for or
// that a save rule calls for, as Redis's serverCron does.
func (s *Server) persistCron(now time.Time) {
	p := &s.persist
	p.mu.Lock()
	running, scheduled := p.running, p.scheduled
	changes := s.store.Changes() - p.changesAtSave
	retry := p.bgOK || now.Sub(p.bgTried) > bgsaveRetryDelay
	p.mu.Unlock()
	if running {
		return
	}
	if scheduled {
		p.mu.Lock()
		p.scheduled = false
		p.mu.Unlock()
		s.startBgsave()
		return
	}
	since := now.Unix() - p.lastSave.Load()
	for _, r := range s.settings.Load().Save {
		if changes >= r.Changes && since >= r.Seconds && retry {
			s.log.Info("save rule met; saving in the background", "changes", changes, "seconds", r.Seconds)
			s.startBgsave()
			return
		}
	}
}

// saveOnStop saves before a planned stop when save rules are set, as
// Redis's SHUTDOWN does with save points. The caller has stopped the
// clients and the background goroutines.
func (s *Server) saveOnStop() {
	if len(s.settings.Load().Save) == 0 {
		return
	}
	if !s.beginSave(false) {
		return
	}
	s.log.Info("saving the final RDB snapshot before exiting")
	s.saveRDB(context.Background()) //nolint:errcheck // logged; the node stops either way
}

// loadRDB loads the RDB file, if there is one, before the node serves. A
// standalone node imports every key. A cluster node does not load it: it
// learns which slots it owns only after it registers, and keys of slots
// it does not own must not be served (see README, Persistence).
func (s *Server) loadRDB() error {
	st := s.settings.Load()
	if fi, err := os.Stat(st.Dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("datanode: dir %q is not a directory: %w", st.Dir, err)
	}
	path := rdbPath(st)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if len(s.cfg.NameNodes) > 0 {
		s.log.Warn("an RDB file exists but a cluster DataNode does not load it (its slots are not known at start)", "path", path)
		return nil
	}
	start := time.Now()
	now := start.UnixMilli()
	ls, err := snapshot.LoadFile(path, now, func(e snapshot.Entry) error {
		typ, packed, err := s.packRestored(e.Value)
		if err != nil {
			return fmt.Errorf("%w: key %q: %w", snapshot.ErrCorrupt, e.Key, err)
		}
		return snapshot.Put(s.keySlot(e.Key), e.Key, packed, typ, e.ExpireAt, now)
	})
	if err != nil {
		s.store.Flush()
		return fmt.Errorf("datanode: loading %s: %w", path, err)
	}
	p := &s.persist
	p.mu.Lock()
	p.changesAtSave = s.store.Changes()
	p.loadedKeys, p.loadExpired = ls.Keys, ls.Expired
	p.mu.Unlock()
	p.lastSave.Store(start.Unix())
	s.log.Info("DB loaded from disk", "path", path, "keys", ls.Keys, "expired", ls.Expired, "took", time.Since(start))
	return nil
}
