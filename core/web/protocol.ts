// What the web host and its page-side bridge (renderer/web-bridge.ts) agree on. Browser-safe:
// no Node imports, since the bridge is bundled into the page.

/** POST <API_PREFIX><method> with the JSON request as the body; the answer is an ApiResult. */
export const API_PREFIX = '/api/';
/** WebSocket path the host pushes ApiEvents on, one JSON message each. */
export const EVENTS_PATH = '/events';
/** Query parameter carrying the token: in the page URL the host prints, and on the WebSocket URL. */
export const TOKEN_PARAM = 'token';
/**
 * API calls carry the token in this header: a cross-site page cannot set it without a CORS
 * preflight, which the host never grants.
 */
export const TOKEN_HEADER = 'x-tunesmith-token';
/** The bridge's bundle, at the renderer root, loaded before the app's own script. */
export const BRIDGE_SCRIPT = 'web-bridge.js';
