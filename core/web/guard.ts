// Who may talk to the web host. Loopback alone is not enough: any web page the user opens
// can send requests to 127.0.0.1, and DNS rebinding can make a foreign site's name resolve
// there. So the Host must be ours (defeats rebinding), any Origin must be ours (defeats
// cross-site requests and WebSockets), and every request must carry the secret token the
// host printed (defeats everything else on the machine that did not see it).
import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface Refusal {
  status: 401 | 403;
  message: string;
}

export function newToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** A 403 unless Host names this server on loopback and Origin, when sent, is this server. */
export function refuseForeign(headers: IncomingHttpHeaders, port: number): Refusal | null {
  const host = headers.host?.toLowerCase();
  if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
    return { status: 403, message: `This Tunesmith web host answers only to 127.0.0.1:${port} or localhost:${port}, not ${JSON.stringify(headers.host ?? '')}` };
  }
  const origin = headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) {
    return { status: 403, message: `Requests from ${JSON.stringify(origin)} are not allowed; only the Tunesmith page itself may call this host` };
  }
  return null;
}

/** Constant-time, so the token cannot be guessed a character at a time from response timings. */
export function tokenMatches(given: string | null | undefined, token: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

export const MISSING_TOKEN: Refusal = {
  status: 401,
  message: 'Missing or wrong access token. Open the address the Tunesmith web host printed when it started, token included.',
};

/** The value of one cookie from a Cookie header, or undefined. */
export function cookieValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  for (const part of (headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
