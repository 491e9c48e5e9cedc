// Download progress: bytes per file and overall, a speed that follows the connection, and
// the time left at that speed.

export interface PullProgress {
  /** The file being fetched; null before the first and after the last. */
  file: string | null;
  fileBytes: number;
  fileTotalBytes: number;
  /** All planned files, those found in the cache included. */
  bytes: number;
  totalBytes: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
}

/**
 * Bytes per second over the last few seconds: long enough not to jump with each chunk,
 * short enough to follow a connection that slows down.
 */
export class RateMeter {
  private points: [ms: number, cumulative: number][] = [];
  private total = 0;

  constructor(private readonly windowMs = 5000) {}

  add(bytes: number, atMs: number): void {
    this.total += bytes;
    this.points.push([atMs, this.total]);
    while (this.points.length > 2 && atMs - this.points[1][0] >= this.windowMs) this.points.shift();
  }

  bytesPerSecond(atMs: number): number {
    if (this.points.length === 0) return 0;
    const [since, before] = this.points[0];
    return atMs > since ? ((this.total - before) * 1000) / (atMs - since) : 0;
  }
}

export class ProgressTracker {
  private finished = 0;
  private file: string | null = null;
  private fileBytes = 0;
  private fileTotalBytes = 0;
  private readonly meter = new RateMeter();

  constructor(
    private readonly totalBytes: number,
    private readonly report: (p: PullProgress) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  startFile(name: string, size: number): void {
    this.file = name;
    this.fileBytes = 0;
    this.fileTotalBytes = size;
    this.meter.add(0, this.now());
    this.emit();
  }

  /** `fileBytes` on disk now; `fresh` of them came over the network since the last call (not resumed ones). */
  update(fileBytes: number, fresh: number): void {
    this.fileBytes = fileBytes;
    this.meter.add(fresh, this.now());
    this.emit();
  }

  /** A file found in the cache: it counts toward the total, not toward the speed. */
  cached(bytes: number): void {
    this.finished += bytes;
    this.emit();
  }

  endFile(): void {
    this.finished += this.fileTotalBytes;
    this.file = null;
    this.fileBytes = 0;
    this.fileTotalBytes = 0;
    this.emit();
  }

  current(): PullProgress {
    const bytes = this.finished + this.fileBytes;
    const bytesPerSecond = this.meter.bytesPerSecond(this.now());
    return {
      file: this.file,
      fileBytes: this.fileBytes,
      fileTotalBytes: this.fileTotalBytes,
      bytes,
      totalBytes: this.totalBytes,
      bytesPerSecond,
      etaSeconds: bytesPerSecond > 0 ? (this.totalBytes - bytes) / bytesPerSecond : null,
    };
  }

  private emit(): void {
    this.report(this.current());
  }
}

/** Passes on at most one value per interval; the ones in between are dropped. */
export function throttle<T>(deliver: (value: T) => void, intervalMs: number, now: () => number = () => performance.now()): (value: T) => void {
  let last = -Infinity;
  return (value) => {
    if (now() - last < intervalMs) return;
    last = now();
    deliver(value);
  };
}
