// The one contract between the renderer and whatever hosts it: Electron's main
// process today, a local web server later. Both hosts implement `TunesmithApi`,
// so the UI never learns which one it is talking to. Keep it free of Electron
// types for that reason.

/** What the About line and bug reports need to identify a running install. */
export interface AppInfo {
  name: string;
  version: string;
  /** The TensorFlow.js backend that actually started, which decides training speed. */
  backend: string;
  platform: string;
  /** `electron` and `chrome` are absent when a plain Node host serves the UI. */
  versions: { node: string; electron?: string; chrome?: string };
}

/**
 * Everything the renderer may ask of the host. Every member returns a Promise
 * because each call crosses a process boundary.
 */
export interface TunesmithApi {
  appInfo(): Promise<AppInfo>;
}

/**
 * IPC channel per API member. Preload and main import this one table so a typo
 * cannot leave a request without a handler; the prefix keeps our channels apart
 * from any a library might register.
 */
export const API_CHANNELS = {
  appInfo: 'tunesmith:appInfo',
} as const satisfies Record<keyof TunesmithApi, string>;
