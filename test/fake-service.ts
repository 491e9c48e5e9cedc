// A stand-in for the app service in host tests: every member records its call and answers
// what the test gave it (or nothing), and events are emitted by hand.
import { API_METHODS, type ApiEvent, type ApiMethod, type ApiService } from '../core/api/contract';
import type { AppServiceHandle } from '../core/app/context';
import { startWebHost, type WebHost } from '../core/web/server';

export type FakeAnswers = Partial<Record<ApiMethod, (request: unknown) => unknown>>;

export interface FakeHandle extends Pick<AppServiceHandle, 'service' | 'onEvent'> {
  calls: { method: ApiMethod; request: unknown }[];
  emit(event: ApiEvent): void;
  listenerCount(): number;
}

export function fakeHandle(answers: FakeAnswers = {}): FakeHandle {
  const calls: FakeHandle['calls'] = [];
  const listeners = new Set<(event: ApiEvent) => void>();
  const service = Object.fromEntries(
    API_METHODS.map((method) => [
      method,
      async (request: unknown) => {
        calls.push({ method, request });
        return answers[method]?.(request);
      },
    ]),
  ) as unknown as ApiService;
  return {
    service,
    calls,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit: (event) => listeners.forEach((listener) => listener(event)),
    listenerCount: () => listeners.size,
  };
}

/** A web host over `handle` on a free port, with the token its page URL carries. */
export async function startTestHost(handle: Pick<AppServiceHandle, 'service' | 'onEvent'>, rendererDir: string): Promise<{ host: WebHost; token: string }> {
  const host = await startWebHost({ handle, rendererDir, port: 0 });
  return { host, token: new URL(host.url).searchParams.get('token') ?? '' };
}
