// The engine's one logger: pino underneath, one scope per line (engine, control, or a component's
// name) so interleaved output from many components stays readable; text for a terminal, JSON
// lines for a log collector.
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';
import { prettyFactory } from 'pino-pretty';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Where finished lines go, one call per line, without the trailing newline. */
export interface LogSink {
  write(line: string): void;
}

/**
 * process.stdout, written synchronously (stdout is synchronous for files, pipes and terminals on
 * Linux): a line logged just before the process exits is never lost, as it could be with a
 * worker-thread transport.
 */
const stdoutSink: LogSink = { write: (line) => void process.stdout.write(`${line}\n`) };

/** Only the Logger class below can make one: how a child shares its parent's pino root. */
const ROOT = Symbol('pino root');
interface Root {
  readonly [ROOT]: PinoLogger;
}

/**
 * A scoped logger. `child(scope)` makes the logger of one component: same level and output,
 * its own scope (`[kv] loaded kv@1.0.0` in text, `"scope":"kv"` in JSON). The child's scope is
 * the name alone, not nested under the parent's: log lines read `[kv]`, not `[engine/kv]`.
 */
export class Logger {
  /** The pino logger of this scope (the control server hands it to fastify). */
  readonly pino: PinoLogger;
  readonly #root: PinoLogger;

  constructor(scope: string, level?: LogLevelName, sink?: LogSink, format?: LogFormat);
  /** A child (see child()): shares the parent's pino root. */
  constructor(scope: string, parent: Root);
  constructor(scope: string, level: LogLevelName | Root = 'info', sink: LogSink = stdoutSink, format: LogFormat = 'text') {
    this.#root = typeof level === 'object' ? level[ROOT] : rootLogger(level, sink, format);
    this.pino = this.#root.child({ scope });
  }

  /** A logger for `scope` (a component's name) writing where this one writes, at its level. */
  child(scope: string): Logger {
    return new Logger(scope, { [ROOT]: this.#root });
  }

  log(level: LogLevelName, text: string): void {
    this.pino[level](text);
  }
  debug(text: string): void {
    this.pino.debug(text);
  }
  info(text: string): void {
    this.pino.info(text);
  }
  warn(text: string): void {
    this.pino.warn(text);
  }
  error(text: string): void {
    this.pino.error(text);
  }
}

function rootLogger(level: LogLevelName, sink: LogSink, format: LogFormat): PinoLogger {
  return pino(
    {
      level,
      base: null, // no pid/hostname on every line: one engine per process, the collector knows the host
      ...(format === 'json'
        ? { timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label: string) => ({ level: label }) } }
        : {}),
    },
    format === 'json' ? jsonLines(sink) : textLines(sink),
  );
}

/** pino's JSON lines, handed to the sink as they are written. */
function jsonLines(sink: LogSink): DestinationStream {
  return { write: (chunk) => sink.write(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk) };
}

/**
 * pino-pretty's formatter called in line (prettyFactory), not its stream: the stream runs
 * through asynchronous stream plumbing, and the last lines before an exit could be lost.
 * One line per entry, `2026-01-01T12:00:00.000Z info  [kv] loaded kv@1.0.0 in 512 µs`: the
 * level padded so the scopes line up, and the same shape as before the logger was pino, so
 * what watches for a line keeps matching. Structured fields (the request log's method, status,
 * time) are in the JSON format; the text line says them in words.
 */
function textLines(sink: LogSink): DestinationStream {
  const pretty = prettyFactory({
    colorize: false,
    ignore: 'time,level,scope',
    hideObject: true,
    singleLine: true,
    messageFormat: (log, messageKey) => {
      const level = pino.levels.labels[Number(log.level)] ?? String(log.level);
      // A line without a message (pino's `log.error({ err })`) says the error's.
      const text = log[messageKey] ?? (log.err as { message?: unknown } | undefined)?.message ?? '';
      return `${new Date(Number(log.time)).toISOString()} ${level.padEnd(5)} [${String(log.scope)}] ${String(text)}`;
    },
  });
  return {
    write: (chunk) => {
      const line = pretty(chunk);
      sink.write(line.endsWith('\n') ? line.slice(0, -1) : line);
    },
  };
}
