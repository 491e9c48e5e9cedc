// Turns the built renderer page (out/renderer/index.html, the one Electron loads) into the
// web host's page: the bridge script goes first so `window.tunesmith` exists before the app
// starts, and the page's own CSP is lifted out to be sent as a header too.
import { BRIDGE_SCRIPT } from './protocol';

export interface WebPage {
  html: string;
  csp: string;
}

const CSP_META = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"\s*\/?>/i;

/** Throws naming what is missing: a page without either would start without its API or policy. */
export function webPage(indexHtml: string, file: string): WebPage {
  const csp = CSP_META.exec(indexHtml)?.[1];
  if (!csp) throw new Error(`${file}: no Content-Security-Policy meta tag; the web host will not serve a page without one`);
  const firstScript = indexHtml.indexOf('<script');
  if (firstScript < 0) throw new Error(`${file}: no <script> tag to load the bridge before`);
  const bridge = `<script type="module" src="./${BRIDGE_SCRIPT}"></script>\n    `;
  return { html: indexHtml.slice(0, firstScript) + bridge + indexHtml.slice(firstScript), csp };
}
