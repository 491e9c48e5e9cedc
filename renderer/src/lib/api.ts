import type { TunesmithApi } from '../../../core/api/contract';

export { errorInfo } from '../../../core/api/errors';

/** The host's API, or a plain-words failure when the page was opened outside a Tunesmith host. */
export function hostApi(): TunesmithApi {
  if (!window.tunesmith) {
    throw new Error('This page is not connected to the Tunesmith app. Open it from Tunesmith itself.');
  }
  return window.tunesmith;
}
