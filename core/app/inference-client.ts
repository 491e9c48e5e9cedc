// The service's handle on its inference worker: started on the first chat, kept for the
// next ones (it holds the loaded model), restarted after a crash. Replies are routed to
// the stream that asked; a crash ends that worker's streams with the reason and the text so far.
import type { ApiErrorInfo } from '../api/contract';
import type { WorkerProcess } from './context';
import type { GenerateRequest, InferenceReply } from './inference-protocol';

export type StreamEnd = Extract<InferenceReply, { type: 'end' }>;

export interface StreamHandlers {
  onToken(text: string): void;
  onEnd(end: StreamEnd): void;
}

/** Lines of the worker's stderr kept for the error shown when it dies. */
const STDERR_LINES = 20;

export class InferenceClient {
  private worker: WorkerProcess | null = null;
  private readonly streams = new Map<string, { handlers: StreamHandlers; worker: WorkerProcess; text: string }>();

  constructor(private readonly launch: () => WorkerProcess) {}

  generate(request: GenerateRequest, handlers: StreamHandlers): void {
    const worker = this.running();
    this.streams.set(request.streamId, { handlers, worker, text: '' });
    worker.send(request);
  }

  /** A stream that already ended is left alone. */
  stop(streamId: string): void {
    this.streams.get(streamId)?.worker.send({ type: 'stop', streamId });
  }

  /** Ends the worker; its streams get no end event, since whoever listened is going away too. */
  dispose(): void {
    this.streams.clear();
    this.worker?.kill();
    this.worker = null;
  }

  private running(): WorkerProcess {
    if (this.worker) return this.worker;
    const worker = this.launch();
    const stderr: string[] = [];
    worker.onMessage((message) => this.receive(message as InferenceReply));
    worker.onStderrLine((line) => {
      stderr.push(line);
      if (stderr.length > STDERR_LINES) stderr.shift();
    });
    worker.onExit((code) => {
      if (this.worker === worker) this.worker = null;
      const error: ApiErrorInfo = { message: `the inference process exited (code ${code}) before the answer was complete`, detail: stderr.join('\n') };
      for (const [streamId, stream] of this.streams) {
        if (stream.worker !== worker) continue;
        this.streams.delete(streamId);
        stream.handlers.onEnd({ type: 'end', streamId, text: stream.text, timings: { loadSeconds: 0, promptTokens: 0, contextLimit: 0, tokens: 0, seconds: 0, tokensPerSecond: 0 }, stopped: false, error });
      }
    });
    this.worker = worker;
    return worker;
  }

  private receive(reply: InferenceReply): void {
    const stream = this.streams.get(reply.streamId);
    if (!stream) return;
    if (reply.type === 'token') {
      stream.text += reply.text;
      stream.handlers.onToken(reply.text);
      return;
    }
    this.streams.delete(reply.streamId);
    stream.handlers.onEnd(reply);
  }
}
