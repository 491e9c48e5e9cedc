// What the engine's Node-only imports (node:fs, node:path, node:module, node:url, node:util)
// become in the browser bundle of page.ts: nothing on the GPU path calls them (it reads no file
// and loads no addon), so each function throws, naming itself, if something ever does.
function absent(name: string): () => never {
  return () => {
    throw new Error(`${name} is not available in the browser test page`);
  };
}

export const createRequire = () => absent('require');
export const fileURLToPath = absent('fileURLToPath');
export const pathToFileURL = absent('pathToFileURL');
export const existsSync = () => false;
export const join = (...parts: string[]) => parts.join('/');
export const dirname = (p: string) => p.replace(/\/[^/]*$/, '');
export const resolve = join;
export const sep = '/';
const module = { createRequire, fileURLToPath, pathToFileURL, existsSync, join, dirname, resolve, sep };
export default module;
