// The inference worker process. The app service starts it on the first chat and keeps it,
// with the model it has loaded, for the chats after.
import type { InferenceRequest } from './inference-protocol';
import { serveInference } from './inference-server';
import { connectToParent } from './worker-port';

const port = connectToParent();
port.onParentGone(() => process.exit(0));
serveInference({
  // A reply that cannot leave means the app is gone, which onParentGone handles.
  send: (message) => void port.post(message).catch(() => {}),
  onMessage: (listener) => port.onMessage((message) => listener(message as InferenceRequest)),
});
