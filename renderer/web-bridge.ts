// The web host's counterpart of preload/index.ts: it gives the page `window.tunesmith`, so
// the app runs unchanged in a browser. Calls go over fetch, events over a WebSocket that
// reconnects; the token from the URL the host printed authorises both. The host loads this
// script before the app's, so the API exists before the UI starts.
import { API_METHODS, type ApiEvent, type ApiResult, type TunesmithApi } from '../core/api/contract';
import { apiError, unwrapResult } from '../core/api/errors';
import { API_PREFIX, EVENTS_PATH, TOKEN_HEADER, TOKEN_PARAM } from '../core/web/protocol';

const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 10_000;

const token = new URLSearchParams(location.search).get(TOKEN_PARAM) ?? '';

async function call(method: string, request: unknown): Promise<unknown> {
  let result: ApiResult<unknown>;
  try {
    const response = await fetch(API_PREFIX + method, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [TOKEN_HEADER]: token },
      body: JSON.stringify(request ?? null),
    });
    result = (await response.json()) as ApiResult<unknown>;
  } catch (error) {
    throw apiError({ message: 'Lost contact with the Tunesmith web host. Is it still running?', detail: String(error) });
  }
  return unwrapResult(result);
}

const listeners = new Set<(event: ApiEvent) => void>();

/** One socket for all listeners; when it drops (host restarted, laptop slept) it retries, backing off. */
function connectEvents(retryMs: number): void {
  const url = new URL(EVENTS_PATH, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = new URLSearchParams({ [TOKEN_PARAM]: token }).toString();
  const socket = new WebSocket(url);
  let nextRetryMs = retryMs;
  socket.onopen = () => {
    nextRetryMs = RECONNECT_FIRST_MS;
  };
  socket.onmessage = (message) => {
    const event = JSON.parse(String(message.data)) as ApiEvent;
    for (const listener of listeners) listener(event);
  };
  socket.onclose = () => {
    setTimeout(() => connectEvents(Math.min(nextRetryMs * 2, RECONNECT_MAX_MS)), nextRetryMs);
  };
}

const api = {
  ...Object.fromEntries(API_METHODS.map((method) => [method, (request?: unknown) => call(method, request)])),
  onEvent(listener: (event: ApiEvent) => void) {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  },
} as unknown as TunesmithApi;

window.tunesmith = api;
connectEvents(RECONNECT_FIRST_MS);
