// Opens the engine's SQLite database and brings its schema up to date.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/**
 * Schema steps, applied in order; PRAGMA user_version records how many ran. Append only: a data
 * directory written by an older engine is brought up to date, never rewritten.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE module_versions (
     module         TEXT    NOT NULL,
     version        TEXT    NOT NULL,
     sha256         TEXT    NOT NULL,
     size           INTEGER NOT NULL,
     abi_version    INTEGER,
     layout_version INTEGER,
     uploaded_at    TEXT    NOT NULL,
     uploaded_by    TEXT    NOT NULL,
     signature      TEXT,
     PRIMARY KEY (module, version)
   ) WITHOUT ROWID;
   CREATE TABLE history (
     id           INTEGER PRIMARY KEY AUTOINCREMENT,
     component    TEXT    NOT NULL,
     at           TEXT    NOT NULL,
     kind         TEXT    NOT NULL,
     from_version TEXT,
     to_version   TEXT,
     result       TEXT    NOT NULL,
     cause        TEXT,
     pause_us     INTEGER,
     queued       INTEGER,
     detail       TEXT
   );
   CREATE INDEX history_by_component ON history (component, id);`,
];

/** Opens (creating if needed) the engine's SQLite database in its data directory. */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(join(dataDir, 'hotswap.db'));
  // WAL: readers (GET endpoints, the CLI) never wait for a writer; NORMAL sync is durable across
  // process crashes, which is what the history needs, and cheap enough to write on every swap.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const applied = db.pragma('user_version', { simple: true }) as number;
  db.transaction(() => {
    for (let i = applied; i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
  return db;
}
