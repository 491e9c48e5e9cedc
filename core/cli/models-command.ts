// `tunesmith models [--json]`: the models in the Hugging Face cache, ours and Python's.
import { listCachedModels } from '../hub/cache';
import { hubConfigFromEnv } from '../hub/config';
import { formatBytes } from '../units';
import type { Flags, Print } from './commands';

export async function modelsCommand(flags: Flags, print: Print): Promise<void> {
  const { cacheDir } = hubConfigFromEnv();
  const models = listCachedModels(cacheDir);
  if (flags.json) return print(JSON.stringify(models));
  if (models.length === 0) return print(`no models in the Hugging Face cache (${cacheDir}); download one with: tunesmith pull MODEL_ID`);
  for (const m of models) {
    const revisions = Object.keys(m.refs).join(', ') || m.commits.map((c) => c.slice(0, 8)).join(', ');
    print(`${m.id} (${revisions}) ${formatBytes(m.sizeBytes)}\n  ${m.dir ?? 'incomplete: pull it again to finish'}`);
  }
  print(`cache: ${cacheDir}`);
}
