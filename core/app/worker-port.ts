// The worker side of the channel to the app: Electron's utility processes talk through
// `process.parentPort`, Node's forked children through `process.send`. Worker modules use
// this and run unchanged under either host.

/** What Electron's utility process puts on `process.parentPort` (typed here: core has no Electron types). */
interface ElectronParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

export interface WorkerPort {
  onMessage(listener: (message: unknown) => void): void;
  /** Resolves once the message has left this process, so exiting after it loses nothing. */
  post(message: unknown): Promise<void>;
  /** The app went away without ending this worker (Electron ends utility processes itself). */
  onParentGone(listener: () => void): void;
}

export function connectToParent(): WorkerPort {
  const electron = (process as { parentPort?: ElectronParentPort }).parentPort;
  if (electron) {
    return {
      onMessage: (listener) => electron.on('message', (e) => listener(e.data)),
      post: async (message) => electron.postMessage(message),
      onParentGone: () => {},
    };
  }
  const send = process.send?.bind(process);
  if (!send) throw new Error('this worker must be started by the app (no parent channel: neither process.parentPort nor process.send)');
  return {
    onMessage: (listener) => process.on('message', listener),
    post: (message) => new Promise((resolve, reject) => send(message, undefined, {}, (err) => (err ? reject(err) : resolve()))),
    onParentGone: (listener) => process.on('disconnect', listener),
  };
}
