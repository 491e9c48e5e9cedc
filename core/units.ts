// Byte sizes and durations as people read them, one way everywhere: the CLI's tables and
// progress bar and the app's screens import these, so "1.1 GiB" or "1:15:00" never reads
// differently in two places. Browser-safe (the renderer bundles it).

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Binary units, one decimal below 100 of a unit: 512 B, 1.1 GiB, 475 MiB. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 || Math.abs(value) >= 100 ? 0 : 1)} ${BYTE_UNITS[unit]}`;
}

/** h:mm:ss from an hour on, else m:ss; '--:--' when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
