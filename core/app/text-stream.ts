// Generated ids to text pieces for streaming. Byte-level BPE pieces can end inside a
// multi-byte character, so the whole id list is decoded each time and only the text
// past what was already sent goes out, once its last character is complete.

export class TextStream {
  private readonly ids: number[] = [];
  private sent = '';

  constructor(private readonly decode: (ids: readonly number[]) => string) {}

  /** The text this id completes; '' while its character is still partial. */
  push(id: number): string {
    this.ids.push(id);
    const text = this.decode(this.ids);
    return text.endsWith('\uFFFD') ? '' : this.take(text);
  }

  /** What is left when generation ends, a character that never completed included. */
  finish(): string {
    return this.take(this.decode(this.ids));
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
