// Forward-only schema migrations. The index in MIGRATIONS + 1 is the version stored in
// PRAGMA user_version; each step runs in its own transaction together with the version
// bump, so a failure leaves the file at the previous version.
import type Database from 'better-sqlite3';

export interface Migration {
  description: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    description: 'core tables',
    up(db) {
      db.exec(`
        CREATE TABLE models (
          id INTEGER PRIMARY KEY,
          source TEXT NOT NULL UNIQUE,
          config_summary TEXT NOT NULL DEFAULT '{}',
          parameter_count INTEGER,
          created_at INTEGER NOT NULL
        );
        CREATE TABLE datasets (
          id INTEGER PRIMARY KEY,
          path TEXT NOT NULL,
          format TEXT NOT NULL,
          content_hash TEXT NOT NULL,
          stats TEXT NOT NULL DEFAULT '{}',
          created_at INTEGER NOT NULL,
          UNIQUE (path, content_hash)
        );
        CREATE TABLE runs (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'stopped', 'interrupted')),
          method TEXT NOT NULL,
          model_id INTEGER REFERENCES models(id),
          dataset_id INTEGER REFERENCES datasets(id),
          config TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          started_at INTEGER,
          ended_at INTEGER,
          estimated_peak_bytes INTEGER,
          measured_peak_bytes INTEGER,
          final_metrics TEXT,
          output_dir TEXT,
          pid INTEGER,
          -- Identifies the process start that owns a running run, so a reused pid
          -- (our own after a restart) is not mistaken for the run still being alive.
          owner TEXT,
          error TEXT
        );
        CREATE TABLE metrics (
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          step INTEGER NOT NULL,
          epoch REAL,
          name TEXT NOT NULL,
          -- NULL records a non-finite value (NaN loss) without failing the write.
          value REAL,
          time INTEGER NOT NULL
        );
        CREATE INDEX metrics_run_name_step ON metrics (run_id, name, step);
        CREATE TABLE checkpoints (
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          step INTEGER NOT NULL,
          path TEXT NOT NULL,
          eval_loss REAL,
          is_best INTEGER NOT NULL DEFAULT 0,
          created_at INTEGER NOT NULL,
          PRIMARY KEY (run_id, step)
        );
        CREATE TABLE samples (
          id INTEGER PRIMARY KEY,
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          step INTEGER NOT NULL,
          prompt TEXT NOT NULL,
          output TEXT NOT NULL,
          created_at INTEGER NOT NULL
        );
        CREATE TABLE chat_sessions (
          id INTEGER PRIMARY KEY,
          model_source TEXT NOT NULL,
          adapter_path TEXT,
          run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,
          sampling TEXT NOT NULL DEFAULT '{}',
          created_at INTEGER NOT NULL
        );
        CREATE TABLE chat_messages (
          id INTEGER PRIMARY KEY,
          session_id INTEGER NOT NULL REFERENCES chat_sessions(id) ON DELETE CASCADE,
          role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
          text TEXT NOT NULL,
          timings TEXT,
          created_at INTEGER NOT NULL
        );
      `);
    },
  },
  {
    description: 'run tags and notes',
    up(db) {
      db.exec(`
        CREATE TABLE run_tags (
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          tag TEXT NOT NULL,
          PRIMARY KEY (run_id, tag)
        );
        CREATE INDEX run_tags_tag ON run_tags (tag);
        ALTER TABLE runs ADD COLUMN notes TEXT NOT NULL DEFAULT '';
      `);
    },
  },
  {
    description: 'index samples by prompt for side-by-side comparison',
    up(db) {
      db.exec('CREATE INDEX samples_run_prompt ON samples (run_id, prompt, step)');
    },
  },
  {
    description: 'backend and tensor memory peak of training runs',
    up(db) {
      // measured_peak_bytes (process RSS) stays; the tensor peak shows how much of it the model's tensors took.
      db.exec(`
        ALTER TABLE runs ADD COLUMN backend TEXT;
        ALTER TABLE runs ADD COLUMN measured_tensor_peak_bytes INTEGER;
      `);
    },
  },
  {
    description: "index chat messages by conversation, for the app's conversation list",
    up(db) {
      db.exec('CREATE INDEX chat_messages_session ON chat_messages (session_id, id)');
    },
  },
];

export const LATEST_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings `db` up to `migrations.length`; returns the version it started at. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const from = schemaVersion(db);
  for (let v = from; v < migrations.length; v++) {
    const m = migrations[v];
    try {
      db.transaction(() => {
        m.up(db);
        db.pragma(`user_version = ${v + 1}`);
      })();
    } catch (err) {
      throw new Error(`${db.name}: migration to schema version ${v + 1} (${m.description}) failed, file left at version ${v}: ${(err as Error).message}`, { cause: err });
    }
  }
  return from;
}
