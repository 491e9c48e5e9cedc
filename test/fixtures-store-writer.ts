// Child process for store-crash.test.ts: trains nothing, but writes to the store the way a
// training run does, announcing each committed step so the parent can kill it mid-write.
//   node --import tsx test/fixtures-store-writer.ts DB_FILE
import { openStore } from '../core/store/index';

const file = process.argv[2];
if (!file) throw new Error('usage: fixtures-store-writer.ts DB_FILE');
const store = openStore(file);
const run = store.createRun({ name: `crash ${process.pid}`, method: 'lora', config: { lr: 1e-4 }, status: 'running' });
process.stdout.write(`run ${run.id}\n`);
const writer = store.metricsWriter(run.id);
// Bounded so an orphaned child cannot write forever if the parent dies first.
const deadline = Date.now() + 15_000;
for (let step = 0; Date.now() < deadline; step++) {
  const values: Record<string, number> = { loss: 5 / (step + 1), tokens_seen: step * 512 };
  for (let i = 0; i < 18; i++) values[`extra_${i}`] = step * i;
  writer.log(step, values);
  writer.flush();
  if (step % 25 === 0) store.recordCheckpoint(run.id, { step, path: `/runs/${run.id}/checkpoint-${step}` });
  // stdout to a pipe is synchronous on Linux and macOS, so the parent never sees a step before its commit.
  process.stdout.write(`committed ${step}\n`);
}
store.close();
