// The app:// scheme: serves the built renderer's files and nothing else.
import { protocol } from 'electron';
import fs from 'node:fs/promises';
import { findStaticFile } from '../core/web/static-files';
import { APP_HOST, APP_SCHEME } from './app-page';

/**
 * Must run before the app is ready. `standard` gives the page an origin that 'self' in its CSP
 * and relative asset URLs resolve against; `secure` makes it a secure context, as file:// was;
 * Vite's `<script type="module" crossorigin>` loads in CORS mode, which Chromium allows only on
 * CORS-enabled schemes (`corsEnabled`; no response here carries Access-Control-Allow-Origin, so
 * no other origin can read one), and `supportFetchAPI` lets the page fetch its own files.
 */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, corsEnabled: true, supportFetchAPI: true } }]);
}

/** Answers app://tunesmith/<path> from `rendererDir`; any other host, or a path outside it, is a 404. */
export function serveAppScheme(rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const found = url.host === APP_HOST ? findStaticFile(rendererDir, url.pathname) : null;
    if (!found) return new Response('not found', { status: 404 });
    return new Response(await fs.readFile(found.file), { headers: { 'content-type': found.contentType, 'x-content-type-options': 'nosniff' } });
  });
}
