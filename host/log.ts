/** Log lines carry the component's name, so interleaved output from many components stays readable. */
export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevelName, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface LogSink {
  write(line: string): void;
}
const stdoutSink: LogSink = { write: (line) => void process.stdout.write(line + '\n') };

export class Logger {
  readonly #scope: string;
  readonly #min: number;
  readonly #sink: LogSink;

  constructor(scope: string, level: LogLevelName = 'info', sink: LogSink = stdoutSink) {
    this.#scope = scope;
    this.#min = ORDER[level];
    this.#sink = sink;
  }

  child(scope: string): Logger {
    return new Logger(`${this.#scope}/${scope}`, levelOf(this.#min), this.#sink);
  }

  log(level: LogLevelName, text: string): void {
    if (ORDER[level] < this.#min) return;
    this.#sink.write(`${new Date().toISOString()} ${level.padEnd(5)} [${this.#scope}] ${text}`);
  }
  debug(text: string): void { this.log('debug', text); }
  info(text: string): void { this.log('info', text); }
  warn(text: string): void { this.log('warn', text); }
  error(text: string): void { this.log('error', text); }
}

const levelOf = (n: number): LogLevelName =>
  (Object.entries(ORDER).find(([, v]) => v === n)?.[0] as LogLevelName | undefined) ?? 'info';
