// What Node's built-ins become in the browser bundle of page.ts: nothing on the GPU path it
// runs calls them (it reads no file, loads no addon and opens no store; the GPU window's trainer
// is bundled but never loaded), so each function throws, naming itself, if something ever does.
function absent(name: string): () => never {
  return () => {
    throw new Error(`${name} is not available in the browser test page`);
  };
}

export const createRequire = () => absent('require');
export const spawnSync = absent('spawnSync');
export const randomUUID = absent('randomUUID');
export const randomBytes = absent('randomBytes');
export const createHash = absent('createHash');
export const fileURLToPath = absent('fileURLToPath');
export const pathToFileURL = absent('pathToFileURL');
export const existsSync = () => false;
export const join = (...parts: string[]) => parts.join('/');
export const dirname = (p: string) => p.replace(/\/[^/]*$/, '');
export const resolve = join;
export const sep = '/';
const module = { createRequire, fileURLToPath, pathToFileURL, existsSync, join, dirname, resolve, sep };
export default module;
