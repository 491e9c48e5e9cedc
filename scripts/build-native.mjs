// Builds the native kernels (core/native) with node-gyp after `npm install`. A machine that
// cannot build them (no compiler) still gets a working install: Tunesmith then runs on the
// slower pure-TensorFlow.js backends, and says so in `tunesmith info`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const addonDir = path.join(root, 'core', 'native');

function nodeGypScript() {
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath && path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c) => c && fs.existsSync(c) && c.endsWith('.js'));
}

const gyp = nodeGypScript();
if (!gyp) {
  console.warn('tunesmith: node-gyp not found; native kernels not built (training will use the slower TensorFlow.js backends)');
  process.exit(0);
}
console.log('tunesmith: building native kernels (core/native)…');
const res = spawnSync(process.execPath, [gyp, 'rebuild'], { cwd: addonDir, stdio: ['ignore', 'inherit', 'inherit'] });
if (res.status !== 0) {
  console.warn(`tunesmith: native kernels failed to build (exit ${res.status}); training will use the slower TensorFlow.js backends`);
}
