// The one path from an untrusted (method, payload) pair to a service's answer, shared by
// Electron's IPC handlers and the web host so both answer every call exactly alike.
import { API_METHODS, type ApiErrorInfo, type ApiMethod, type ApiResult, type ApiService } from './contract';
import { API_ERROR_MARK, errorInfo } from './errors';
import { validateRequest } from './validate';

export function isApiMethod(method: string): method is ApiMethod {
  return (API_METHODS as readonly string[]).includes(method);
}

/** Node's system errors say `ENOENT: no such file or directory, open '…'`; people need less. */
const SYSTEM_ERRORS: Record<string, string> = {
  ENOENT: 'No such file or folder',
  EACCES: 'Permission denied',
  EPERM: 'Not permitted',
  EISDIR: 'Expected a file but this is a folder',
  ENOTDIR: 'Expected a folder but this is a file',
  EEXIST: 'Already exists',
  ENOSPC: 'The disk is full',
  EMFILE: 'Too many files are open',
};

/** Thrown by code mistakes, not by anything the user did; their text means nothing to a user. */
const BUG_CLASSES = [TypeError, RangeError, ReferenceError, SyntaxError];

/**
 * A thrown value as the UI shows it. Errors written for users (ConfigFieldError, DataError,
 * apiError) keep their message; every kind keeps its stack as the detail.
 */
export function describeFailure(error: unknown): ApiErrorInfo {
  if (!(error instanceof Error) || error.message.includes(API_ERROR_MARK)) return errorInfo(error);
  const { code, path } = error as NodeJS.ErrnoException;
  const systemMessage = code === undefined ? undefined : SYSTEM_ERRORS[code];
  if (systemMessage) return { message: path ? `${systemMessage}: ${path}` : systemMessage, detail: error.stack };
  if (BUG_CLASSES.some((kind) => error instanceof kind)) {
    return { message: 'Tunesmith hit an internal error. The details below help to report it.', detail: error.stack };
  }
  return { message: error.message, detail: error.stack };
}

/** Never throws: every outcome, including an unknown method or a malformed payload, is a result. */
export async function handleApiRequest(service: ApiService, method: string, payload: unknown): Promise<ApiResult<unknown>> {
  if (!isApiMethod(method)) return { ok: false, error: { message: `Tunesmith has no API call named ${JSON.stringify(method.slice(0, 100))}` } };
  try {
    const request = validateRequest(method, payload);
    const call = service[method] as (request: unknown) => Promise<unknown>;
    // Void answers become null so that JSON (the web host) and IPC carry the same value.
    return { ok: true, value: (await call.call(service, request)) ?? null };
  } catch (error) {
    return { ok: false, error: describeFailure(error) };
  }
}
