// electron-builder beforePack hook: compiles core/native for the architecture about to be
// packed, since the arm64 and x64 dmgs each need their own. The kernels use N-API, so one
// build loads in any Electron. A missing addon fails the package instead of shipping an app
// that silently trains on the slow fallback backends.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Arch } from 'electron-builder';

const root = path.resolve(import.meta.dirname, '..');
const addon = path.join(root, 'core', 'native', 'build', 'Release', 'tunesmith_kernels.node');

export default function buildNativeForArch(context) {
  const arch = Arch[context.arch];
  // node-gyp reads its options from npm_config_* variables, --arch included.
  const res = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-native.mjs')], {
    stdio: 'inherit',
    env: { ...process.env, npm_config_arch: arch },
  });
  if (res.status !== 0 || !fs.existsSync(addon)) {
    throw new Error(`core/native did not build for ${arch} (see the node-gyp output above); a compiler for ${arch} is needed to package Tunesmith`);
  }
}
