// Where the app's page lives and whether a frame shows it, for the IPC handlers to refuse
// anyone else. Free of Electron imports, so this security check is tested under plain Node.

/**
 * The built renderer is served under this scheme (main/app-protocol.ts), not file://, so the
 * page gets a real origin and cannot read the disk through file URLs (Electron's security
 * checklist, item 18).
 */
export const APP_SCHEME = 'app';
export const APP_HOST = 'tunesmith';
export const APP_PAGE_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * A test for frame URLs: the built page (any hash route or query), or in development any page
 * of the dev server's origin.
 */
export function appPageMatcher(pageUrl: string, devServerUrl: string | undefined): (frameUrl: string) => boolean {
  if (devServerUrl) {
    const origin = new URL(devServerUrl).origin;
    return (frameUrl) => parse(frameUrl)?.origin === origin;
  }
  return (frameUrl) => {
    const url = parse(frameUrl);
    if (!url) return false;
    url.hash = '';
    url.search = '';
    return url.href === pageUrl;
  };
}
