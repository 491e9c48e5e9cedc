// Failures cross two boundaries on their way to the screen: the host's transport (IPC,
// HTTP) and Electron's contextBridge, which copies only an Error's message. So the whole
// ApiErrorInfo rides inside the message, and the renderer unpacks it.
import type { ApiErrorInfo, ApiResult } from './contract';

export const API_ERROR_MARK = 'tunesmith-api-error:';

/** An Error whose message carries the full info; throw it where the result reaches the page. */
export function apiError(info: ApiErrorInfo): Error {
  return new Error(API_ERROR_MARK + JSON.stringify(info));
}

/** The value of an ok result, or the thrown apiError of a failed one. */
export function unwrapResult<T>(result: ApiResult<T>): T {
  if (result.ok) return result.value;
  throw apiError(result.error);
}

/** Whatever was thrown, as plain words plus detail. */
export function errorInfo(error: unknown): ApiErrorInfo {
  const message = error instanceof Error ? error.message : String(error);
  const at = message.indexOf(API_ERROR_MARK);
  if (at >= 0) {
    try {
      return JSON.parse(message.slice(at + API_ERROR_MARK.length)) as ApiErrorInfo;
    } catch {
      // A message that merely contains the mark is shown as it is.
    }
  }
  return { message, detail: error instanceof Error ? error.stack : undefined };
}
