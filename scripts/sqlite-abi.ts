// better-sqlite3 is compiled for one runtime's ABI: Node's (the CLI, the web host, the tests) or
// Electron's (the app's main process). `npm start` and `npm test` call this with the runtime they
// are about to use, and it rebuilds better-sqlite3 only when the build on disk is for another.
//   node --import tsx scripts/sqlite-abi.ts node|electron
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type Runtime = 'node' | 'electron';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(import.meta.dirname, '..');

/**
 * The ABI a non-Node-API addon was compiled for: Node's module registration symbol carries it
 * (node_register_module_v115 for Node 20). Null when the file has none.
 */
export function addonAbi(binary: Buffer): string | null {
  return /node_register_module_v(\d+)/.exec(binary.toString('latin1'))?.[1] ?? null;
}

/** The ABI a runtime loads addons for: this Node's, or the installed Electron's (its package records it). */
export function runtimeAbi(runtime: Runtime): string {
  if (runtime === 'node') return process.versions.modules;
  return fs.readFileSync(path.join(path.dirname(require.resolve('electron/package.json')), 'abi_version'), 'utf8').trim();
}

function builtAbi(): string | null {
  const addon = path.join(path.dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
  return fs.existsSync(addon) ? addonAbi(fs.readFileSync(addon)) : null;
}

/** The command that rebuilds better-sqlite3 for a runtime: @electron/rebuild through electron-builder, or its own install script. */
function rebuild(runtime: Runtime): void {
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const [command, args] = runtime === 'electron' ? [npx, ['electron-builder', 'install-app-deps']] : [npm, ['rebuild', 'better-sqlite3']];
  execFileSync(command, args, { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
}

export function ensureSqliteFor(runtime: Runtime): void {
  const want = runtimeAbi(runtime);
  const have = builtAbi();
  if (have === want) return;
  console.log(`better-sqlite3 is built for ABI ${have ?? 'none'}; rebuilding it for ${runtime} (ABI ${want})…`);
  rebuild(runtime);
  const now = builtAbi();
  if (now !== want) throw new Error(`better-sqlite3 is still built for ABI ${now ?? 'none'} after rebuilding for ${runtime} (ABI ${want})`);
}

if (process.argv[1] === import.meta.filename) {
  const runtime = process.argv[2];
  if (runtime !== 'node' && runtime !== 'electron') {
    console.error('usage: node --import tsx scripts/sqlite-abi.ts node|electron');
    process.exit(2);
  }
  ensureSqliteFor(runtime);
}
