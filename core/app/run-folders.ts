// Where the app keeps things in its data folder.
import path from 'node:path';

export const storeFile = (home: string) => path.join(home, 'tunesmith.db');
export const runFolder = (home: string, runId: string) => path.join(home, 'runs', runId);
