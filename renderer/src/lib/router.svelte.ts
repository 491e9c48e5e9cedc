// Hash routes (#/runs/abc?x=1): the page is one file loaded from disk in Electron, so
// there is no server to answer real paths, and the hash survives a reload in both hosts.

export interface Route {
  /** Path segments: `#/runs/abc` → ['runs', 'abc']. */
  segments: string[];
  query: URLSearchParams;
}

function parse(hash: string): Route {
  const [path, query = ''] = hash.replace(/^#/, '').split('?');
  return { segments: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

export const route: Route = $state(parse(location.hash));

window.addEventListener('hashchange', () => Object.assign(route, parse(location.hash)));

/** `navigate('runs', id)` or `navigate('compare', { ids: 'a,b' })`. */
export function navigate(...parts: (string | Record<string, string>)[]): void {
  const query = parts.find((p): p is Record<string, string> => typeof p === 'object');
  const path = parts.filter((p): p is string => typeof p === 'string').map(encodeURIComponent).join('/');
  location.hash = `/${path}${query ? `?${new URLSearchParams(query)}` : ''}`;
}
