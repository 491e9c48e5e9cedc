// Generated ids to text pieces for streaming. Byte-level BPE pieces can end inside a
// multi-byte character, so the whole id list is decoded each time and only the text
// past what was already sent goes out, once its last character is complete. A reply
// ends at the first stop string (the next turn's marker): the text that could still
// become one is held back until it cannot, so a marker is never shown, even in part.

export class TextStream {
  private readonly ids: number[] = [];
  private sent = '';
  private stoppedAt: number | null = null;

  constructor(
    private readonly decode: (ids: readonly number[]) => string,
    private readonly stops: readonly string[] = [],
  ) {}

  /** The text this id completes; '' while its character is still partial or may start a stop string. */
  push(id: number): string {
    if (this.stopped) return '';
    this.ids.push(id);
    const text = this.decode(this.ids);
    const stop = firstStop(text, this.stops);
    if (stop !== null) {
      this.stoppedAt = stop;
      return this.take(text.slice(0, stop));
    }
    if (text.endsWith('\uFFFD')) return '';
    return this.take(text.slice(0, text.length - heldBack(text, this.stops)));
  }

  /** What is left when generation ends, a character that never completed included. */
  finish(): string {
    const text = this.decode(this.ids);
    return this.take(this.stoppedAt === null ? text : text.slice(0, this.stoppedAt));
  }

  /** True once a stop string has appeared: the reply is complete. */
  get stopped(): boolean {
    return this.stoppedAt !== null;
  }

  /** Everything sent so far: the pieces joined. */
  get text(): string {
    return this.sent;
  }

  get tokens(): number {
    return this.ids.length;
  }

  // A decoder that rewrote text already sent would break the stream; hold back until it agrees again.
  private take(text: string): string {
    if (!text.startsWith(this.sent)) return '';
    const piece = text.slice(this.sent.length);
    this.sent = text;
    return piece;
  }
}

function firstStop(text: string, stops: readonly string[]): number | null {
  let first: number | null = null;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at >= 0 && (first === null || at < first)) first = at;
  }
  return first;
}

/** How many characters at the end of `text` are the start of some stop string. */
function heldBack(text: string, stops: readonly string[]): number {
  let longest = 0;
  for (const stop of stops) {
    for (let n = Math.min(stop.length - 1, text.length); n > longest; n--) {
      if (text.endsWith(stop.slice(0, n))) {
        longest = n;
        break;
      }
    }
  }
  return longest;
}
