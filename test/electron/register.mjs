// Resolves `electron` to the fake (test/electron/fake-electron.ts) for everything imported after
// this hook is registered (module.register), so the built main bundle runs unchanged.
let fakeUrl;

export function initialize(data) {
  fakeUrl = data.fakeUrl;
}

export function resolve(specifier, context, next) {
  return specifier === 'electron' ? { url: fakeUrl, shortCircuit: true } : next(specifier, context);
}
