// How an estimate compares with the machine: comfortable, possible, or not.

export type Band = 'fits' | 'tight' | 'exceeds';

/** Up to this share of total RAM leaves room for the OS, the app and the page cache. */
export const FITS_SHARE = 0.75;

/**
 * fits ≤ 75% of total RAM, tight ≤ 100%, exceeds beyond; also exceeds when the backend's
 * own heap cap (wasm: 4 GiB) is passed, however much RAM there is, since the run would
 * abort there.
 */
export function memoryBand(totalBytes: number, ramBytes: number, heap: { bytes: number; limitBytes: number | null }): Band {
  if (heap.limitBytes !== null && heap.bytes > heap.limitBytes) return 'exceeds';
  if (totalBytes <= FITS_SHARE * ramBytes) return 'fits';
  return totalBytes <= ramBytes ? 'tight' : 'exceeds';
}
