// A stand-in for the `electron` module, so the built main process (out/main/index.js) runs under
// plain Node in test/main-process.test.ts (Electron's binary cannot be downloaded here). It has
// only the members main/ uses, with Electron's documented signatures and defaults (a permission
// nobody handles is granted, app.quit emits before-quit and can be held); what a real Electron
// would do on screen or in the OS is recorded in `fake` for the test to look at and drive.
import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { MessageChannel, type MessagePort } from 'node:worker_threads';

const REPO = path.resolve(import.meta.dirname, '../..');
const PARENT_PORT_SHIM = path.join(import.meta.dirname, 'parent-port.mjs');

/** Electron's preventable events: `event.preventDefault()`, read back as `defaultPrevented`. */
class PreventableEvent {
  defaultPrevented = false;
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

export class WebFrameMain {
  constructor(public url: string) {}
}

type WindowOpenHandler = (details: { url: string; frameName: string; features: string; disposition: string }) => { action: 'allow' | 'deny' };

/**
 * Electron's MessagePortMain on one of Node's MessagePorts. A transferred one stands for the
 * renderer's DOM MessagePort: the test plays the page on its `nodePort`, which has the DOM's
 * addEventListener/postMessage/start.
 */
export class MessagePortMain extends EventEmitter {
  constructor(readonly nodePort: MessagePort) {
    super();
    nodePort.on('message', (data) => this.emit('message', { data, ports: [] }));
  }
  postMessage(message: unknown): void {
    this.nodePort.postMessage(message);
  }
  start(): void {}
  close(): void {
    this.nodePort.close();
  }
}

export class MessageChannelMain {
  readonly port1: MessagePortMain;
  readonly port2: MessagePortMain;
  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port1 = new MessagePortMain(port1);
    this.port2 = new MessagePortMain(port2);
  }
}

let nextRendererPid = 40_000;

export class WebContents extends EventEmitter {
  readonly mainFrame = new WebFrameMain('');
  windowOpenHandler: WindowOpenHandler | null = null;
  readonly sent: { channel: string; args: unknown[] }[] = [];
  /** `postMessage` calls: what the page's ipcRenderer would receive, with the ports it was given. */
  readonly posted: { channel: string; message: unknown; transfer: MessagePortMain[] }[] = [];
  readonly #pid = nextRendererPid++;

  getOSProcessId(): number {
    return this.#pid;
  }
  postMessage(channel: string, message: unknown, transfer: MessagePortMain[] = []): void {
    this.posted.push({ channel, message: structuredClone(message), transfer });
  }

  getURL(): string {
    return this.mainFrame.url;
  }
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args: args.map((a) => structuredClone(a)) });
  }
  setWindowOpenHandler(handler: WindowOpenHandler): void {
    this.windowOpenHandler = handler;
  }
}

interface BrowserWindowConstructorOptions {
  title?: string;
  width?: number;
  height?: number;
  show?: boolean;
  webPreferences?: Record<string, unknown>;
}

export class BrowserWindow extends EventEmitter {
  static #all: BrowserWindow[] = [];
  static getAllWindows(): BrowserWindow[] {
    return BrowserWindow.#all.filter((w) => !w.isDestroyed());
  }
  /** No window has the keyboard in a test. */
  static getFocusedWindow(): BrowserWindow | null {
    return null;
  }

  readonly webContents = new WebContents();
  #destroyed = false;
  visible: boolean;

  constructor(readonly options: BrowserWindowConstructorOptions = {}) {
    super();
    this.visible = options.show ?? true;
    BrowserWindow.#all.push(this);
    app.emit('web-contents-created', new PreventableEvent(), this.webContents);
  }

  /** Loads through the registered protocol handler, as Chromium would, and is ready to show once it answered 200. */
  async loadURL(url: string): Promise<void> {
    const response = await fake.fetch(url);
    if (!response.ok) throw new Error(`ERR_FAILED (-2) loading '${url}': ${response.status}`);
    this.webContents.mainFrame.url = url;
    fake.loaded.push({ url, contentType: response.headers.get('content-type'), body: await response.text() });
    this.webContents.emit('did-finish-load');
    this.emit('ready-to-show');
  }
  show(): void {
    this.visible = true;
  }
  isDestroyed(): boolean {
    return this.#destroyed;
  }
  close(): void {
    this.#destroyed = true;
    this.emit('closed');
  }
  destroy(): void {
    if (!this.#destroyed) this.close();
  }
}

class App extends EventEmitter {
  /** The fake plays an installed app: the configuration whose security matters. */
  readonly isPackaged = true;
  #isReady = false;
  #markReady!: () => void;
  readonly #ready = new Promise<void>((resolve) => (this.#markReady = resolve));

  getAppPath(): string {
    return REPO;
  }
  isReady(): boolean {
    return this.#isReady;
  }
  whenReady(): Promise<void> {
    return this.#ready;
  }
  /** Electron's order: before-quit (which may hold the quit), windows closed, will-quit, quit. */
  quit(): void {
    const beforeQuit = new PreventableEvent();
    this.emit('before-quit', beforeQuit);
    if (beforeQuit.defaultPrevented) return;
    for (const window of BrowserWindow.getAllWindows()) window.close();
    const willQuit = new PreventableEvent();
    this.emit('will-quit', willQuit);
    if (willQuit.defaultPrevented) return;
    this.emit('quit', new PreventableEvent(), 0);
  }
  /** Electron's own startup finishing; the test calls it. */
  becomeReady(): void {
    this.#isReady = true;
    this.emit('ready', new PreventableEvent(), {});
    this.#markReady();
  }
}

export const app = new App();

interface IpcMainInvokeEvent {
  sender: WebContents;
  senderFrame: WebFrameMain | null;
}
type InvokeHandler = (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown;

const handlers = new Map<string, InvokeHandler>();
export const ipcMain = {
  handle(channel: string, listener: InvokeHandler): void {
    if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    handlers.set(channel, listener);
  },
};

export const dialog = {
  async showOpenDialog(...args: [BrowserWindow, object] | [object]): Promise<{ canceled: boolean; filePaths: string[] }> {
    fake.dialogs.push(args.at(-1) as object);
    return { canceled: true, filePaths: [] };
  },
};

export const shell = {
  async openExternal(url: string): Promise<void> {
    fake.openedExternally.push(url);
  },
};

type PermissionRequestHandler = (contents: WebContents, permission: string, callback: (granted: boolean) => void, details: object) => void;
type PermissionCheckHandler = (contents: WebContents | null, permission: string, requestingOrigin: string, details: object) => boolean;

class Session {
  requestHandler: PermissionRequestHandler | null = null;
  checkHandler: PermissionCheckHandler | null = null;
  setPermissionRequestHandler(handler: PermissionRequestHandler | null): void {
    this.requestHandler = handler;
  }
  setPermissionCheckHandler(handler: PermissionCheckHandler | null): void {
    this.checkHandler = handler;
  }
}

const defaultSession = new Session();
export const session = {
  get defaultSession(): Session {
    if (!app.isReady()) throw new Error('session module can only be used when app is ready');
    return defaultSession;
  },
};

interface CustomScheme {
  scheme: string;
  privileges?: Record<string, boolean>;
}
const privileged: CustomScheme[] = [];
const protocolHandlers = new Map<string, (request: Request) => Response | Promise<Response>>();
export const protocol = {
  registerSchemesAsPrivileged(customSchemes: CustomScheme[]): void {
    if (app.isReady()) throw new Error('protocol.registerSchemesAsPrivileged should be called before app is ready');
    privileged.push(...customSchemes);
  },
  handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void {
    if (protocolHandlers.has(scheme)) throw new Error(`Failed to register protocol: ${scheme}`);
    protocolHandlers.set(scheme, handler);
  },
};

type Stdio = 'pipe' | 'ignore' | 'inherit';

/**
 * Electron's UtilityProcess on a Node child process. The worker finds `process.parentPort` as it
 * would in Electron (test/electron/parent-port.mjs puts it there) and runs the same bundle.
 */
class UtilityProcess extends EventEmitter {
  pid: number | undefined;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly #child;

  constructor(modulePath: string, args: string[], options: { env?: NodeJS.ProcessEnv; stdio?: Stdio | [Stdio, Stdio, Stdio]; serviceName?: string }) {
    super();
    const stdio = typeof options.stdio === 'string' || options.stdio === undefined ? Array<Stdio>(3).fill(options.stdio ?? 'inherit') : options.stdio;
    this.#child = fork(modulePath, args, { env: options.env, execArgv: ['--import', PARENT_PORT_SHIM], stdio: [...stdio, 'ipc'] });
    this.stdout = this.#child.stdout;
    this.stderr = this.#child.stderr;
    this.#child.once('spawn', () => {
      this.pid = this.#child.pid;
      this.emit('spawn');
    });
    this.#child.on('message', (message) => this.emit('message', message));
    // waitpid's status: a signal shows as a non-zero code, as Electron reports it.
    this.#child.once('exit', (code, signal) => {
      this.pid = undefined;
      this.emit('exit', code ?? (signal ? 128 : 1));
    });
    fake.utilityProcesses.push({ modulePath, serviceName: options.serviceName, exited: new Promise((resolve) => this.once('exit', resolve)), process: this });
  }
  postMessage(message: unknown): void {
    this.#child.send(message as object);
  }
  kill(): boolean {
    return this.#child.kill();
  }
}

export const utilityProcess = {
  fork: (modulePath: string, args: string[] = [], options: ConstructorParameters<typeof UtilityProcess>[2] = {}) => new UtilityProcess(modulePath, args, options),
};

/** The test's side: what happened, and the things a user or Chromium would do. */
export const fake = {
  loaded: [] as { url: string; contentType: string | null; body: string }[],
  openedExternally: [] as string[],
  dialogs: [] as object[],
  privileged,
  utilityProcesses: [] as { modulePath: string; serviceName?: string; exited: Promise<number>; process: UtilityProcess }[],
  defaultSession,

  /** A request Chromium makes for a URL of a scheme with a handler (the app's page and assets). */
  async fetch(url: string): Promise<Response> {
    const handler = protocolHandlers.get(new URL(url).protocol.replace(/:$/, ''));
    if (!handler) throw new Error(`ERR_UNKNOWN_URL_SCHEME loading '${url}'`);
    return handler(new Request(url));
  },
  /** `ipcRenderer.invoke` from a frame; the answer is structured-cloned back, as over IPC. */
  async invoke(contents: WebContents, frame: WebFrameMain, channel: string, ...args: unknown[]): Promise<unknown> {
    const handler = handlers.get(channel);
    if (!handler) throw new Error(`Error invoking remote method '${channel}': Error: No handler registered for '${channel}'`);
    return structuredClone(await handler({ sender: contents, senderFrame: frame }, ...args.map((a) => structuredClone(a))));
  },
  /** A link click or location change in the page; false when the app prevented it. */
  navigate(contents: WebContents, url: string): boolean {
    const event = Object.assign(new PreventableEvent(), { url, isMainFrame: true });
    contents.emit('will-navigate', event, url);
    if (!event.defaultPrevented) contents.mainFrame.url = url;
    return !event.defaultPrevented;
  },
  /** The page asking for a permission (camera, notifications...); Electron grants it when nobody handles it. */
  requestPermission(contents: WebContents, permission: string): Promise<boolean> {
    const handler = defaultSession.requestHandler;
    if (!handler) return Promise.resolve(true);
    return new Promise((resolve) => handler(contents, permission, resolve, { requestingUrl: contents.getURL() }));
  },
  checkPermission(contents: WebContents, permission: string): boolean {
    return defaultSession.checkHandler?.(contents, permission, new URL(contents.getURL()).origin, {}) ?? true;
  },
};
