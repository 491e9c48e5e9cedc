// Chat transcripts with the model, adapter and sampling settings that produced them.
import type Database from 'better-sqlite3';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  id: number;
  role: ChatRole;
  text: string;
  /** e.g. { promptMs, tokensPerSecond }; whatever the generator measured. */
  timings: Record<string, number> | null;
  createdAt: number;
}

export interface ChatSession {
  id: number;
  modelSource: string;
  adapterPath: string | null;
  runId: string | null;
  sampling: Record<string, unknown>;
  createdAt: number;
  messages: ChatMessage[];
}

export function createChatSession(
  db: Database.Database,
  s: { modelSource: string; adapterPath?: string; runId?: string; sampling?: Record<string, unknown> },
): number {
  const info = db
    .prepare('INSERT INTO chat_sessions (model_source, adapter_path, run_id, sampling, created_at) VALUES (?, ?, ?, ?, ?)')
    .run(s.modelSource, s.adapterPath ?? null, s.runId ?? null, JSON.stringify(s.sampling ?? {}), Date.now());
  return Number(info.lastInsertRowid);
}

export function addChatMessage(db: Database.Database, sessionId: number, m: { role: ChatRole; text: string; timings?: Record<string, number> }): number {
  const info = db
    .prepare('INSERT INTO chat_messages (session_id, role, text, timings, created_at) VALUES (?, ?, ?, ?, ?)')
    .run(sessionId, m.role, m.text, m.timings ? JSON.stringify(m.timings) : null, Date.now());
  return Number(info.lastInsertRowid);
}

interface SessionRow {
  id: number;
  model_source: string;
  adapter_path: string | null;
  run_id: string | null;
  sampling: string;
  created_at: number;
}

function toSession(s: SessionRow): Omit<ChatSession, 'messages'> {
  return { id: s.id, modelSource: s.model_source, adapterPath: s.adapter_path, runId: s.run_id, sampling: JSON.parse(s.sampling), createdAt: s.created_at };
}

export function getChatSession(db: Database.Database, id: number): ChatSession | undefined {
  const s = db.prepare('SELECT * FROM chat_sessions WHERE id = ?').get(id) as SessionRow | undefined;
  if (!s) return undefined;
  const rows = db.prepare('SELECT id, role, text, timings, created_at FROM chat_messages WHERE session_id = ? ORDER BY id').all(id) as {
    id: number; role: ChatRole; text: string; timings: string | null; created_at: number;
  }[];
  return {
    ...toSession(s),
    messages: rows.map((r) => ({ id: r.id, role: r.role, text: r.text, timings: r.timings ? JSON.parse(r.timings) : null, createdAt: r.created_at })),
  };
}

export interface ChatSessionSummary extends Omit<ChatSession, 'messages'> {
  messageCount: number;
  /** The first user message, '' when there is none yet. */
  firstMessage: string;
}

/** Newest first. */
export function listChatSessions(db: Database.Database): ChatSessionSummary[] {
  const rows = db
    .prepare(
      `SELECT s.*,
         (SELECT count(*) FROM chat_messages m WHERE m.session_id = s.id) AS message_count,
         (SELECT text FROM chat_messages m WHERE m.session_id = s.id AND m.role = 'user' ORDER BY m.id LIMIT 1) AS first_message
       FROM chat_sessions s ORDER BY s.created_at DESC, s.id DESC`,
    )
    .all() as (SessionRow & { message_count: number; first_message: string | null })[];
  return rows.map((r) => ({ ...toSession(r), messageCount: r.message_count, firstMessage: r.first_message ?? '' }));
}

export function deleteChatSession(db: Database.Database, id: number): void {
  db.prepare('DELETE FROM chat_sessions WHERE id = ?').run(id);
}
