// Which Chromium the UI tests drive: TUNESMITH_CHROMIUM, else one installed on this computer,
// else the headless Chromium that @sparticuz/chromium (a devDependency) ships inside its npm
// tarball, so `npm install` alone brings a browser and nothing downloads at test time.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface ChromiumChoice {
  executablePath: string;
  /** Where it came from, for error messages. */
  source: string;
  /** Extra environment for the browser process. */
  env?: Record<string, string>;
}

/** `TUNESMITH_CHROMIUM=bundled` skips the installed browsers and uses the package's. */
export const BUNDLED = 'bundled';

function installedCandidates(): string[] {
  const env = process.env;
  switch (process.platform) {
    case 'darwin':
      return ['/Applications', path.join(os.homedir(), 'Applications')].flatMap((dir) => [
        path.join(dir, 'Chromium.app/Contents/MacOS/Chromium'),
        path.join(dir, 'Google Chrome.app/Contents/MacOS/Google Chrome'),
      ]);
    case 'win32':
      return [env.LOCALAPPDATA, env.PROGRAMFILES, env['PROGRAMFILES(X86)']]
        .filter((dir): dir is string => Boolean(dir))
        .flatMap((dir) => [path.join(dir, 'Chromium/Application/chrome.exe'), path.join(dir, 'Google/Chrome/Application/chrome.exe')]);
    default:
      return [
        '/usr/bin/chromium', // Debian
        // Ubuntu's chromium-browser is a snap; the binary inside it, since the /snap/bin wrapper
        // confines the profile to the snap's own home.
        '/snap/chromium/current/usr/lib/chromium-browser/chrome',
        '/snap/bin/chromium',
        '/usr/bin/chromium-browser',
        '/usr/bin/google-chrome-stable',
        '/usr/bin/google-chrome',
      ];
  }
}

/** The package's folder, or null where it is not installed or ships no binary for this platform. */
function bundledPackageDir(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  try {
    // Resolves to <pkg>/build/cjs/index.cjs.
    return path.resolve(path.dirname(createRequire(import.meta.url).resolve('@sparticuz/chromium')), '../..');
  } catch {
    return null;
  }
}

/** An unpack takes seconds; a staging folder an hour old was left by a process that was killed (200 MB each). */
function removeAbandonedUnpacks(cacheRoot: string): void {
  const hourAgo = Date.now() - 3600_000;
  for (const name of fs.readdirSync(cacheRoot)) {
    const folder = path.join(cacheRoot, name);
    if (name.includes('.partial-') && fs.statSync(folder).mtimeMs < hourAgo) fs.rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * The package unpacks its brotli files into os.tmpdir() and reuses whatever is there, so two
 * test processes unpacking at once could run a half-written binary. It unpacks instead into a
 * private folder (its TMPDIR pointed there) that is then renamed into place whole, once per
 * package version.
 */
function unpackBundled(pkgDir: string): string {
  const { version } = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  const cacheRoot = path.join(pkgDir, '..', '..', '.cache', 'tunesmith-chromium');
  const target = path.join(cacheRoot, version);
  if (!fs.existsSync(path.join(target, 'chromium'))) {
    fs.mkdirSync(cacheRoot, { recursive: true });
    removeAbandonedUnpacks(cacheRoot);
    const staging = fs.mkdtempSync(path.join(cacheRoot, `${version}.partial-`));
    try {
      const entry = pathToFileURL(createRequire(import.meta.url).resolve('@sparticuz/chromium')).href.replace(/cjs\/index\.cjs$/, 'esm/index.js');
      execFileSync(process.execPath, ['--input-type=module', '-e', `const { default: c } = await import(${JSON.stringify(entry)}); await c.executablePath();`], {
        env: { ...process.env, TMPDIR: staging },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      fs.renameSync(staging, target);
    } catch (error) {
      fs.rmSync(staging, { recursive: true, force: true });
      // Another process renamed its copy into place first.
      if (!fs.existsSync(path.join(target, 'chromium'))) throw error;
    }
  }
  return target;
}

/**
 * The package's fonts.conf names only Lambda's folders. This one reads the system's fonts first,
 * so screenshots match an installed Chromium's where the system has fonts, and the package's
 * Open Sans where it has none (a bare server image).
 */
function fontConfig(unpacked: string): string {
  const file = path.join(unpacked, 'tunesmith-fonts.conf');
  if (!fs.existsSync(file)) {
    const xml = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
      '<fontconfig>',
      '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>',
      `  <dir>${path.join(unpacked, 'fonts', 'fonts')}</dir>`,
      `  <cachedir>${path.join(unpacked, 'fonts-cache')}</cachedir>`,
      '</fontconfig>',
      '',
    ].join('\n');
    const temp = `${file}.${process.pid}`;
    fs.writeFileSync(temp, xml);
    fs.renameSync(temp, file);
  }
  return file;
}

function bundledChromium(): ChromiumChoice | null {
  const pkgDir = bundledPackageDir();
  if (!pkgDir) return null;
  const unpacked = unpackBundled(pkgDir);
  return {
    executablePath: path.join(unpacked, 'chromium'),
    source: `@sparticuz/chromium's headless Chromium (unpacked in ${unpacked})`,
    env: { FONTCONFIG_FILE: fontConfig(unpacked) },
  };
}

export function findChromium(): ChromiumChoice {
  const chosen = process.env.TUNESMITH_CHROMIUM;
  if (chosen && chosen !== BUNDLED) {
    if (!fs.existsSync(chosen)) throw new Error(`TUNESMITH_CHROMIUM=${chosen} not found`);
    return { executablePath: chosen, source: 'TUNESMITH_CHROMIUM' };
  }
  if (chosen !== BUNDLED) {
    const installed = installedCandidates().find((file) => fs.existsSync(file));
    if (installed) return { executablePath: installed, source: 'installed' };
  }
  const bundled = bundledChromium();
  if (bundled) return bundled;
  throw new Error(
    `no Chromium found: install Chromium or Chrome, or set TUNESMITH_CHROMIUM to its executable (looked in ${installedCandidates().join(', ')}; @sparticuz/chromium's browser is for Linux x64 only)`,
  );
}

/** Launch failures of the package's browser are almost always a missing shared library. */
export function launchHint(choice: ChromiumChoice): string {
  return choice.env ? ' (the bundled Chromium needs libnss3, libnspr4 and libexpat1: apt-get install libnss3 libexpat1)' : '';
}
