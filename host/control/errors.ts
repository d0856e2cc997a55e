// How the control API answers errors: engine and repository errors mapped to HTTP statuses, and
// one JSON body shape for all of them (docs/API.md, "Errors").

import type { ErrorObject } from 'ajv';
import type { FastifyError, FastifySchemaValidationError } from 'fastify';
import { UpgradeInProgress } from '../component/component.js';
import { UnknownComponent } from '../engine.js';
import { ModuleRejected } from '../modules/errors.js';
import { BlobDamaged, NotFound, VersionConflict } from '../repository/repository.js';
import { describeErrors } from '../schema.js';
import { SignatureRejected } from './signatures.js';

const HTTP_CODES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  409: 'Conflict',
  415: 'UnsupportedMediaType',
  503: 'ServiceUnavailable',
};

/** An error that carries its HTTP status; everything else goes through `statusOf`. */
export class HttpError extends Error {
  readonly code: string;

  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = HTTP_CODES[status] ?? 'HttpError';
    this.code = this.name;
  }
}

/** Engine and repository errors → HTTP status. The message already names module, version and reason. */
export function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  if (error instanceof UnknownComponent || error instanceof NotFound) return 404;
  if (error instanceof UpgradeInProgress || error instanceof VersionConflict) return 409;
  if (error instanceof ModuleRejected) return 422;
  if (error instanceof SignatureRejected) return 403;
  const status = (error as FastifyError).statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

/** True for an error no status was chosen for: a bug, whose stack belongs in the log. */
export function isUnexpected(error: unknown): boolean {
  return statusOf(error) === 500 && !(error instanceof BlobDamaged) && typeof (error as FastifyError).statusCode !== 'number';
}

/** `{ error, status, code }` plus what the error knows (the module's problems, the token file). */
export function errorBody(error: unknown, status: number, uploadLimit: number): Record<string, unknown> {
  const e = error as Error & { code?: string };
  let message = e instanceof Error ? e.message : String(error);
  // Fastify's own words, made specific.
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = `request body is over the upload limit of ${uploadLimit} bytes`;
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') message = `unsupported content type: ${message}`;
  const body: Record<string, unknown> = { error: message, status, code: e.code ?? e.name ?? 'Error' };
  if (error instanceof ModuleRejected) Object.assign(body, { module: error.module, version: error.version, problems: error.problems });
  if (error instanceof HttpError) Object.assign(body, error.extra);
  return body;
}

/**
 * Fastify's schema validation failures as a 400 whose message names the field and the rule:
 * `component name "KV" must match /^[a-z]…$/`, `version "1.0" must be a semantic version …`.
 * Body errors are worded under `body`; params and query by their own names.
 */
export function validationError(errors: FastifySchemaValidationError[], dataVar: 'body' | 'headers' | 'params' | 'querystring'): HttpError {
  // Fastify hands over ajv's error objects (with the schemas, as the server compiles verbose).
  const problems = describeErrors(errors as ErrorObject[], dataVar === 'body' ? 'body' : '');
  return new HttpError(400, problems.join('; ') || `invalid ${dataVar}`);
}
