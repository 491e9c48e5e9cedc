// A host call that follows the form: asked again after a quiet spell as settings change,
// keeping only the answer to the latest question, so a slow early reply never
// overwrites a newer one.

export class LiveQuery<Q, R> {
  value: R | null = $state(null);
  error: unknown = $state(null);
  pending = $state(false);
  #answered: string | null = $state(null);

  #fetch: (question: Q) => Promise<R>;
  #delayMs: number;
  #asked = 0;
  #key: string | null = null;
  #question: Q | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight = false;

  constructor(fetch: (question: Q) => Promise<R>, delayMs: number) {
    this.#fetch = fetch;
    this.#delayMs = delayMs;
  }

  /** Asks unless this exact question was asked last; null clears the answer. */
  ask(question: Q | null): void {
    const key = question === null ? null : JSON.stringify(question);
    if (key === this.#key) return;
    this.#key = key;
    this.#question = question;
    clearTimeout(this.#timer);
    const mine = ++this.#asked;
    if (question === null) {
      this.#settle(null, null, null);
      return;
    }
    this.pending = true;
    this.#inFlight = true;
    this.#timer = setTimeout(async () => {
      try {
        const value = await this.#fetch(question);
        if (mine === this.#asked) this.#settle(key, value, null);
      } catch (error) {
        if (mine === this.#asked) this.#settle(key, null, error);
      }
    }, this.#delayMs);
  }

  /** Asks the last question again, e.g. after the file it names was edited. */
  refresh(): void {
    const question = this.#question;
    this.#key = null;
    this.ask(question);
  }

  /** Whether `value` and `error` are the answer to this question (rather than to an earlier one). */
  answers(question: Q | null): boolean {
    return question !== null && this.#answered === JSON.stringify(question);
  }

  /** Drops a question still in flight, so it is asked again next time; a finished answer stays. */
  cancel(): void {
    if (!this.#inFlight) return;
    clearTimeout(this.#timer);
    this.#asked++;
    this.#key = null;
    this.#inFlight = false;
    this.pending = false;
  }

  #settle(key: string | null, value: R | null, error: unknown): void {
    this.#answered = key;
    this.value = value;
    this.error = error;
    this.pending = false;
    this.#inFlight = false;
  }
}
