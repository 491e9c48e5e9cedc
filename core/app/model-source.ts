// Where a model the renderer names is on disk: an absolute folder as it is, a Hub id
// through the download cache.
import fs from 'node:fs';
import path from 'node:path';
import { apiError } from '../api/errors';
import { existingFolder, expandHome } from './request-checks';

/** Finds a Hub id's cached snapshot folder; null when it is not downloaded. */
export type HubResolver = (source: string) => string | null;

export function modelDirResolver(resolveHub: HubResolver): (source: string) => string {
  return (source) => {
    if (path.isAbsolute(expandHome(source))) {
      const dir = existingFolder(source);
      if (!fs.existsSync(path.join(dir, 'config.json'))) throw apiError({ message: `${dir}: not a model folder (it has no config.json)` });
      return dir;
    }
    const dir = resolveHub(source);
    if (dir === null) throw apiError({ message: `model "${source}" is not downloaded yet; download it first` });
    return dir;
  };
}
