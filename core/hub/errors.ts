// Failures a download can end with that callers act on differently: a cancelled pull is
// not an error to show, an unreachable Hub may be answered from the cache, and a file the
// Hub does not have is fine when the file is optional.

export class DownloadCancelled extends Error {
  constructor(modelId: string) {
    super(`download of ${modelId} cancelled`);
  }
}

/** No answer from the Hub at all: DNS, refused or dropped connection, timeout. */
export class HubUnreachable extends Error {
  constructor(
    readonly endpoint: string,
    readonly reason: string,
  ) {
    super(`cannot reach the Hugging Face Hub at ${endpoint} (${reason})`);
  }
}

/** The Hub answered with an error status; `code` is its X-Error-Code header when sent. */
export class HubHttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
  }
}

/** Why a request got no answer, in a few words: the socket error's code (ECONNREFUSED) or undici's message. */
export function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code && !cause.code.startsWith('UND_')) return cause.code;
  return cause?.message ?? (err as Error).message;
}

/** What `fetch` and a response body's stream throw when the network fails (a TypeError with a cause), as opposed to bugs. */
export function isNetworkError(err: unknown): boolean {
  return err instanceof TypeError && err.cause !== undefined;
}
