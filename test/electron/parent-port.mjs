// Preloaded into the fake utility processes (test/electron/fake-electron.ts): what Electron puts
// on `process.parentPort` in a utility process, built on Node's fork channel. Messages arrive
// as MessageEvents ({ data, ports }) and, as Electron documents, are queued until a 'message'
// handler is registered (the worker's modules are still loading when the first one comes).
import { EventEmitter } from 'node:events';

const parentPort = new EventEmitter();
const queued = [];
parentPort.postMessage = (message) => process.send(message);
parentPort.on('newListener', (event) => {
  // Called before the listener is added, so the queue is handed over once it is.
  if (event === 'message') queueMicrotask(() => queued.splice(0).forEach((data) => parentPort.emit('message', { data, ports: [] })));
});
process.on('message', (data) => {
  if (parentPort.listenerCount('message') === 0) queued.push(data);
  else parentPort.emit('message', { data, ports: [] });
});
process.parentPort = parentPort;
