// Whether a frame shows our page, for the IPC handlers to refuse anyone else. Free of Electron
// imports, so this security check is tested under plain Node.
import { pathToFileURL } from 'node:url';

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * A test for frame URLs: the built page file (any hash route or query), or in development
 * any page of the dev server's origin.
 */
export function appPageMatcher(rendererHtml: string, devServerUrl: string | undefined): (frameUrl: string) => boolean {
  if (devServerUrl) {
    const origin = new URL(devServerUrl).origin;
    return (frameUrl) => parse(frameUrl)?.origin === origin;
  }
  const page = pathToFileURL(rendererHtml).href;
  return (frameUrl) => {
    const url = parse(frameUrl);
    if (!url) return false;
    url.hash = '';
    url.search = '';
    return url.href === page;
  };
}
