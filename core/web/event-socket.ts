// Pushes every ApiEvent to each page connected on the events WebSocket. Pages only listen:
// anything they send is ignored, and the tiny payload limit keeps them from sending much.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { ApiEvent } from '../api/contract';

export interface EventSocket {
  /** Completes an upgrade the caller has already authorised. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

export function createEventSocket(subscribe: (listener: (event: ApiEvent) => void) => () => void): EventSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  // Oversized or malformed frames end that one connection, never the host.
  wss.on('connection', (ws) => ws.on('error', () => ws.terminate()));
  const unsubscribe = subscribe((event) => {
    const message = JSON.stringify(event);
    for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(message);
  });
  return {
    accept: (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
    close() {
      unsubscribe();
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
