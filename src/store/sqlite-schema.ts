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
  updated_at INTEGER NOT NULL
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
