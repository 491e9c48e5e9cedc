// The app's settings: `<home>/settings.json`, which also holds the Hugging Face token, so
// the file is private to its user and the token never leaves this process.
import fs from 'node:fs';
import path from 'node:path';
import { BACKEND_SETTINGS, THEME_SETTINGS, type ApiService, type Settings, type SettingsPatch } from '../api/contract';
import { readJsonFile } from '../checkpoint/model-folder';
import type { AppServiceContext } from './service-context';


/** What the file holds; keys this version does not know are kept as they are. */
export interface StoredSettings {
  backend: Settings['backend'];
  theme: Settings['theme'];
  hubToken: string | null;
  [unknownKey: string]: unknown;
}

const DEFAULTS: StoredSettings = { backend: 'auto', theme: 'system', hubToken: null };

export function settingsFile(home: string): string {
  return path.join(home, 'settings.json');
}

/** The saved settings, or the defaults when there is no file; a damaged file is an error naming it. */
export function readSettingsFile(home: string): StoredSettings {
  const file = settingsFile(home);
  if (!fs.existsSync(file)) return { ...DEFAULTS };
  const raw = readJsonFile(file);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: must be a JSON object`);
  const stored = { ...DEFAULTS, ...raw } as StoredSettings;
  const problem = settingsProblem(stored);
  if (problem) throw new Error(`${file}: ${problem}; fix or delete the file`);
  return stored;
}

function settingsProblem(s: { backend?: unknown; theme?: unknown; hubToken?: unknown }): string | null {
  if (s.backend !== undefined && !(BACKEND_SETTINGS as readonly unknown[]).includes(s.backend)) return `"backend" must be one of ${BACKEND_SETTINGS.join(', ')} (got ${JSON.stringify(s.backend)})`;
  if (s.theme !== undefined && !(THEME_SETTINGS as readonly unknown[]).includes(s.theme)) return `"theme" must be one of ${THEME_SETTINGS.join(', ')} (got ${JSON.stringify(s.theme)})`;
  if (s.hubToken !== undefined && s.hubToken !== null && typeof s.hubToken !== 'string') return `"hubToken" must be a string (got ${JSON.stringify(s.hubToken)})`;
  return null;
}

/** Written to a private temporary file and renamed over the old one, so a crash never leaves half a file. */
function writeSettingsFile(home: string, settings: StoredSettings): void {
  const file = settingsFile(home);
  const temporary = `${file}.tmp`;
  fs.mkdirSync(home, { recursive: true });
  fs.writeFileSync(temporary, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  // `mode` applies only when the file is created; a leftover temporary file keeps its old one.
  fs.chmodSync(temporary, 0o600);
  fs.renameSync(temporary, file);
}

/** What a worker process needs in its environment to use the chosen backend ('auto': the default order). */
export function backendEnv(home: string): Record<string, string> {
  const { backend } = readSettingsFile(home);
  return backend === 'auto' ? {} : { TUNESMITH_BACKEND: backend };
}

function publicSettings(home: string, s: StoredSettings): Settings {
  return { dataDir: home, backend: s.backend, theme: s.theme, hasHubToken: s.hubToken !== null };
}

export function createSettingsMethods(ctx: Pick<AppServiceContext, 'home'>): Pick<ApiService, 'getSettings' | 'updateSettings'> {
  return {
    async getSettings() {
      return publicSettings(ctx.home, readSettingsFile(ctx.home));
    },
    async updateSettings(patch: SettingsPatch) {
      const problem = settingsProblem(patch);
      if (problem) throw new Error(`settings: ${problem}`);
      const next = { ...readSettingsFile(ctx.home) };
      if (patch.backend !== undefined) next.backend = patch.backend;
      if (patch.theme !== undefined) next.theme = patch.theme;
      if (patch.hubToken !== undefined) next.hubToken = patch.hubToken === '' ? null : patch.hubToken;
      writeSettingsFile(ctx.home, next);
      return publicSettings(ctx.home, next);
    },
  };
}
