// Training in a process of its own, so the app stays responsive and a crash in the engine
// cannot take it down: the entry a ProcessLauncher starts as a Node or Electron utility process.
import { serveTraining } from './training-serve';
import { connectToParent } from './worker-port';

serveTraining(connectToParent(), (code) => process.exit(code));
