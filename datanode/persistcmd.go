package datanode

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// errNotInTransaction is Redis's reply to a no-multi command inside MULTI.
const errNotInTransaction = "ERR Command not allowed inside a transaction"

// persistCommands are SAVE, BGSAVE and LASTSAVE.
func persistCommands() []*command {
	return []*command{
		{name: "save", arity: 1, flags: flagAdmin | flagNoScript | flagNoMulti, run: cmdSave,
			doc: commandDoc{"server", "Synchronously saves the database(s) to disk.", "1.0.0", "O(N) where N is the total number of keys in all databases", ""}},
		{name: "bgsave", arity: -1, flags: flagAdmin | flagNoScript, run: cmdBgsave,
			doc: commandDoc{"server", "Asynchronously saves the database(s) to disk.", "1.0.0", "O(1)", "[SCHEDULE]"},
			extra: &docExtra{args: []docArg{{name: "schedule", typ: argPureToken, token: "SCHEDULE", since: "3.2.2", optional: true}},
				history: [][2]string{{"3.2.2", "Added the `SCHEDULE` option."}}}},
		{name: "lastsave", arity: 1, flags: flagLoading | flagStale | flagFast, run: cmdLastSave,
			doc:   commandDoc{"server", "Returns the Unix timestamp of the last successful save to disk.", "1.0.0", "O(1)", ""},
			extra: &docExtra{tips: []string{"nondeterministic_output"}}},
	}
}

// cmdSave is SAVE: the snapshot written before the reply. It locks slots
// one at a time, so it must not run inside EXEC, which holds slots: MULTI
// refuses to queue it (flagNoMulti), as Redis does.
func cmdSave(c *client, _ [][]byte) {
	if !c.srv.beginSave(false) {
		c.replyError(errSaveInProgress)
		return
	}
	if err := c.srv.saveRDB(context.Background()); err != nil {
		c.replyError("ERR")
		return
	}
	c.replyOK()
}

// cmdBgsave is BGSAVE [SCHEDULE]: a snapshot written by a goroutine of
// the server's group while it serves.
func cmdBgsave(c *client, args [][]byte) {
	schedule := false
	if len(args) > 1 {
		if len(args) > 2 || !equalFold(args[1], "schedule") {
			c.replyError(errSyntax)
			return
		}
		schedule = true
	}
	s := c.srv
	if s.startBgsave() {
		c.replyStatus("Background saving started")
		return
	}
	p := &s.persist
	p.mu.Lock()
	running := p.running
	if running && schedule {
		p.scheduled = true
	}
	p.mu.Unlock()
	switch {
	case running && schedule:
		c.replyStatus("Background saving scheduled")
	case running:
		c.replyError(errSaveInProgress)
	default: // the server is stopping
		c.replyError("ERR")
	}
}

// cmdLastSave is LASTSAVE: when the last save succeeded, or when the node
// started (having loaded its file, if any) if none has.
func cmdLastSave(c *client, _ [][]byte) { c.replyInt(c.srv.persist.lastSave.Load()) }

// infoPersistence reports the snapshots' state; there is no AOF yet, so
// its figures are at rest.
func (s *Server) infoPersistence(b *infoBuilder) {
	p := &s.persist
	p.mu.Lock()
	running, bg, started := p.running, p.bg, p.started
	bgOK, bgSecs, saves := p.bgOK, p.bgSecs, p.saves
	changes := s.store.Changes() - p.changesAtSave
	loaded, expired := p.loadedKeys, p.loadExpired
	p.mu.Unlock()
	current := int64(-1)
	if running && bg {
		current = int64(time.Since(started).Seconds())
	}
	var done, total int64
	if running {
		done, total = p.keysDone.Load(), p.keysTotal.Load()
	}
	b.line("loading", 0)
	b.line("async_loading", 0)
	b.line("current_cow_peak", 0)
	b.line("current_cow_size", 0)
	b.line("current_cow_size_age", 0)
	b.line("current_fork_perc", "0.00")
	b.line("current_save_keys_processed", done)
	b.line("current_save_keys_total", total)
	b.line("rdb_changes_since_last_save", changes)
	b.line("rdb_bgsave_in_progress", boolInt(running && bg))
	b.line("rdb_last_save_time", p.lastSave.Load())
	b.line("rdb_last_bgsave_status", okErr(bgOK))
	b.line("rdb_last_bgsave_time_sec", bgSecs)
	b.line("rdb_current_bgsave_time_sec", current)
	b.line("rdb_saves", saves)
	b.line("rdb_last_cow_size", 0)
	b.line("rdb_last_load_keys_expired", expired)
	b.line("rdb_last_load_keys_loaded", loaded)
	b.line("aof_enabled", 0)
	b.line("aof_rewrite_in_progress", 0)
	b.line("aof_rewrite_scheduled", 0)
	b.line("aof_last_rewrite_time_sec", -1)
	b.line("aof_current_rewrite_time_sec", -1)
	b.line("aof_last_bgrewrite_status", "ok")
	b.line("aof_rewrites", 0)
	b.line("aof_rewrites_consecutive_failures", 0)
	b.line("aof_last_write_status", "ok")
	b.line("aof_last_cow_size", 0)
	b.line("module_fork_in_progress", 0)
	b.line("module_fork_last_cow_size", 0)
}

func okErr(ok bool) string {
	if ok {
		return "ok"
	}
	return "err"
}

// errProtectedConfig is Redis 7's refusal to change dir or dbfilename
// while enable-protected-configs is no (its default).
const errProtectedConfig = "can't set protected config"

// getSave and setSave are CONFIG's save.
func getSave(_ *Server, st *Settings) string { return formatSaveRules(st.Save) }

func setSave(st *Settings, v string) error {
	rules, err := ParseSaveRules(v)
	if err == nil {
		st.Save = rules
	}
	return err
}

// getDir is CONFIG GET dir: an absolute path, as Redis's getcwd gives.
func getDir(_ *Server, st *Settings) string { return absDir(st.Dir) }

// getDBFilename and setDBFilename are CONFIG's dbfilename.
func getDBFilename(_ *Server, st *Settings) string { return st.DBFilename }

func setDBFilename(st *Settings, v string) error {
	if !st.EnableProtectedConfigs {
		return configError(errProtectedConfig)
	}
	if v == "" || v != filepath.Base(v) {
		return configError("dbfilename can't be a path, just a filename")
	}
	st.DBFilename = v
	return nil
}

// absDir is dir made absolute, as Redis reports its working directory.
func absDir(dir string) string {
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return dir
}

// setDir sets dir to an existing directory, as Redis's chdir does.
func setDir(st *Settings, v string) error {
	if !st.EnableProtectedConfigs {
		return configError(errProtectedConfig)
	}
	fi, err := os.Stat(v)
	switch {
	case err != nil:
		return configError(unwrapPathError(err))
	case !fi.IsDir():
		return configError("Not a directory")
	}
	st.Dir = absDir(v)
	return nil
}

// unwrapPathError is the OS's text of a path error, as strerror gives it.
func unwrapPathError(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		if s := pe.Err.Error(); s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return err.Error()
}
