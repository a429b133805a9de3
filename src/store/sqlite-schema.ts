/** Tables of the SQLite store. Idempotent: run at every open. */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id            TEXT PRIMARY KEY,
  type          TEXT NOT NULL,
  body          TEXT NOT NULL,
  hash          TEXT NOT NULL,
  title         TEXT,
  received_at   INTEGER NOT NULL,
  dispatched_at INTEGER
);
CREATE INDEX IF NOT EXISTS events_received ON events (received_at);
CREATE INDEX IF NOT EXISTS events_undispatched_id ON events (id) WHERE dispatched_at IS NULL;

CREATE TABLE IF NOT EXISTS dedupe (
  type       TEXT NOT NULL,
  hash       TEXT NOT NULL,
  event_id   TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (type, hash)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS runs (
  id         TEXT PRIMARY KEY,
  event_id   TEXT NOT NULL,
  recipe     TEXT NOT NULL,
  step_index INTEGER NOT NULL,
  step_name  TEXT,
  action     TEXT NOT NULL,
  state      TEXT NOT NULL,
  attempt    INTEGER NOT NULL DEFAULT 0,
  run_at     INTEGER NOT NULL,
  input      TEXT,
  result     TEXT,
  error      TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  due_at     INTEGER
);
CREATE INDEX IF NOT EXISTS runs_event ON runs (event_id);
CREATE INDEX IF NOT EXISTS runs_open ON runs (state) WHERE state IN ('pending', 'retrying', 'running');

CREATE TABLE IF NOT EXISTS debounces (
  key      TEXT PRIMARY KEY,
  run_id   TEXT NOT NULL,
  first_at INTEGER NOT NULL,
  due_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS meta (
  k TEXT PRIMARY KEY,
  v TEXT
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS once_keys (
  key        TEXT PRIMARY KEY,
  run_id     TEXT NOT NULL,
  expires_at INTEGER
) WITHOUT ROWID;
`

/**
 * Upgrades a store written by a version before the schedule lived in the
 * store: runs gain `due_at` (set while a run is in the schedule). Back then
 * the engine resumed the first open run of each recipe's job at start-up, so
 * exactly those are put in the schedule; the rest follow as steps end.
 */
export const MIGRATE_DUE_AT = `
ALTER TABLE runs ADD COLUMN due_at INTEGER;
UPDATE runs SET due_at = run_at WHERE id IN (
  SELECT id FROM (
    SELECT id, row_number() OVER (PARTITION BY event_id, recipe ORDER BY step_index) AS n
    FROM runs WHERE state IN ('pending', 'retrying', 'running')
  ) WHERE n = 1
);
`

export const SCHEDULE_INDEX = 'CREATE INDEX IF NOT EXISTS runs_due ON runs (due_at) WHERE due_at IS NOT NULL;'
