/**
 * What one event observed from outside the module, in order: clock readings, random bytes, the
 * results of host calls (replies, sends, route changes, quota admissions), interface tables.
 * Live, each value is taken from the real source and recorded; during replay the same values
 * are handed back in the same order and the real source is not asked (so no output is repeated).
 */
import { ByteSink } from './byte-sink.js';

enum Tag {
  number = 1,
  bytes = 2,
  flag = 3,
  text = 4,
  /** A run of equal flags: u8 value, u32 count (a flood of refused calls is one entry, not millions). */
  flagRun = 5,
}

type Mode = 'off' | 'record' | 'replay';

export class ObservationTape {
  readonly #sink = new ByteSink(256);
  #mode: Mode = 'off';
  #replay: Buffer = Buffer.alloc(0);
  #at = 0;
  /** Why the replayed event asked for something its record does not hold (first mismatch). */
  #diverged: string | null = null;
  /** Recording: where the flag run written last starts (-1: the last entry is not a run). */
  #runAt = -1;
  #runValue = false;
  #runCount = 0;
  /** Replaying: flags left in the run being served, and their value. */
  #runLeft = 0;

  get mode(): Mode {
    return this.#mode;
  }

  record(): void {
    this.#sink.reset();
    this.#runAt = -1;
    this.#mode = 'record';
  }

  replay(tape: Buffer): void {
    this.#replay = tape;
    this.#at = 0;
    this.#diverged = null;
    this.#runLeft = 0;
    this.#mode = 'replay';
  }

  /**
   * Ends the event: the recorded bytes (valid until the next record(); the sink itself, which the
   * journal writer copies from, not a view made per event), or null after a replay.
   */
  stop(): ByteSink | null {
    const mode = this.#mode;
    this.#mode = 'off';
    if (mode === 'record') {
      this.#closeRun();
      return this.#sink;
    }
    if (mode === 'replay' && this.#diverged === null && (this.#at !== this.#replay.length || this.#runLeft !== 0))
      this.#diverged = `the replay used ${this.#at} of the record's ${this.#replay.length} observed bytes`;
    return null;
  }

  /** The first difference between the replay and its record, or null when it matched. */
  get diverged(): string | null {
    return this.#diverged;
  }

  number(live: () => number): number {
    switch (this.#mode) {
      case 'off':
        return live();
      case 'record': {
        const v = live();
        this.#sink.u8(Tag.number);
        this.#sink.f64(v);
        return v;
      }
      case 'replay':
        return this.#take(Tag.number, 8) ? this.#replay.readDoubleLE(this.#at - 8) : live();
    }
  }

  /**
   * A yes/no result (a quota's admission) of `live(arg)`. Equal flags in a row are one run on the
   * tape, and the argument is passed rather than captured so that the call allocates nothing: a
   * module may be refused a million times in one callback.
   */
  flag<A>(live: (arg: A) => boolean, arg: A): boolean {
    switch (this.#mode) {
      case 'off':
        return live(arg);
      case 'record': {
        const v = live(arg);
        const sink = this.#sink;
        const at = this.#runAt;
        if (at >= 0 && v === this.#runValue && sink.length === at + 6 && this.#runCount < 0xffff_ffff)
          sink.setU32(at + 2, ++this.#runCount);
        else {
          this.#runAt = sink.length;
          this.#runValue = v;
          this.#runCount = 1;
          sink.u8(Tag.flagRun);
          sink.u8(v ? 1 : 0);
          sink.u32(1);
        }
        return v;
      }
      case 'replay':
        if (this.#runLeft > 0) {
          this.#runLeft--;
          return this.#runValue;
        }
        // A single flag (tag 3) is what journals written before runs hold.
        if (this.#replay[this.#at] === Tag.flag && this.#runLeft === 0)
          return this.#take(Tag.flag, 1) ? this.#replay[this.#at - 1] === 1 : live(arg);
        if (!this.#take(Tag.flagRun, 5)) return live(arg);
        this.#runValue = this.#replay[this.#at - 5] === 1;
        this.#runLeft = this.#replay.readUInt32LE(this.#at - 4) - 1;
        return this.#runValue;
    }
  }

  /** Fills `target` (random bytes): recorded, or copied back from the record. */
  fill(target: Uint8Array, live: (target: Uint8Array) => void): void {
    if (this.#mode === 'off') {
      live(target);
      return;
    }
    if (this.#mode === 'record') {
      live(target);
      this.#sink.u8(Tag.bytes);
      this.#sink.u32(target.byteLength);
      this.#sink.bytes(target);
      return;
    }
    const n = this.#replay.length - this.#at >= 5 ? this.#replay.readUInt32LE(this.#at + 1) : -1;
    if (n !== target.byteLength || !this.#take(Tag.bytes, 4 + n)) {
      live(target);
      return;
    }
    target.set(this.#replay.subarray(this.#at - n, this.#at));
  }

  /** A text value (an interface description), or undefined. */
  text(live: () => string | undefined): string | undefined {
    if (this.#mode === 'off') return live();
    if (this.#mode === 'record') {
      const v = live();
      const b = Buffer.from(v ?? '', 'utf8');
      this.#sink.u8(Tag.text);
      this.#sink.i32(v === undefined ? -1 : b.byteLength);
      this.#sink.bytes(b);
      return v;
    }
    const n = this.#replay.length - this.#at >= 5 ? this.#replay.readInt32LE(this.#at + 1) : -2;
    if (n < -1 || !this.#take(Tag.text, 4 + Math.max(0, n))) return live();
    return n === -1 ? undefined : this.#replay.toString('utf8', this.#at - n, this.#at);
  }

  /** Writes the count of the run recorded last into its entry. */
  #closeRun(): void {
    if (this.#runAt >= 0) this.#sink.setU32(this.#runAt + 2, this.#runCount);
    this.#runAt = -1;
  }

  /** Consumes a value of `tag` with `size` bytes after the tag; false (divergence noted) when the record holds another. */
  #take(tag: Tag, size: number): boolean {
    const at = this.#at;
    if (this.#diverged !== null) return false; // positions no longer line up: the rest is live
    if (this.#runLeft > 0) {
      this.#diverged = `observation ${at}: the module asked for a ${Tag[tag] ?? tag} within a run of ${this.#runLeft} more flags`;
      return false;
    }
    if (at + 1 + size > this.#replay.length || this.#replay[at] !== tag) {
      this.#diverged ??= `observation ${at}: the module asked for a ${Tag[tag] ?? tag} the record does not hold here`;
      return false;
    }
    this.#at = at + 1 + size;
    return true;
  }
}
