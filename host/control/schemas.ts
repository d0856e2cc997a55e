// The control API's request schemas (params, query strings, JSON bodies), worded so that a 400
// names the field and the rule (host/schema.ts: `title` names the value, `hint` says the rule).
import { NAME_PATTERN, VERSION_MAX_LENGTH, VERSION_PATTERN, VERSION_RULE } from '../repository/repository.js';

/** Component names: never a path, never reach the repository unchecked. */
const NAME = { type: 'string', pattern: NAME_PATTERN.source, title: 'component name', hint: `match ${NAME_PATTERN}` } as const;
const VERSION = {
  type: 'string',
  maxLength: VERSION_MAX_LENGTH,
  pattern: VERSION_PATTERN.source,
  title: 'version',
  hint: `be ${VERSION_RULE}`,
} as const;

export const NAME_PARAMS = {
  type: 'object',
  required: ['name'],
  properties: { name: NAME },
} as const;

export const VERSION_PARAMS = {
  type: 'object',
  required: ['name', 'version'],
  properties: { name: NAME, version: VERSION },
} as const;

export const HISTORY_QUERY = {
  type: 'object',
  properties: { limit: { type: 'integer', minimum: 1, maximum: 100_000, hint: 'be an integer from 1 to 100000' } },
} as const;

/** `?version=` on an upgrade that carries module bytes. */
export const UPGRADE_QUERY = {
  type: 'object',
  properties: { version: VERSION },
} as const;

/** What an upgrade by version sends, in words (also the 400 for a request without a body). */
export const UPGRADE_BODY_RULE = 'body must be {"version": "<semantic version>"}';

/** `{"version": "1.2.3"}`: required for an upgrade by version. */
const UPGRADE_JSON = {
  type: 'object',
  required: ['version'],
  properties: { version: VERSION },
  hint: 'be {"version": "<semantic version>"}',
} as const;

/** `{}`, `{"version": "1.2.3"}`, or no body at all for a rollback. */
const ROLLBACK_JSON = {
  type: ['object', 'null'],
  properties: { version: VERSION },
  hint: 'be {"version": "<semantic version>"} or empty',
} as const;

/** Only JSON bodies are validated; module bytes (application/wasm) are checked by the engine. */
export const UPGRADE_BODY = { content: { 'application/json': { schema: UPGRADE_JSON } } } as const;
export const ROLLBACK_BODY = { content: { 'application/json': { schema: ROLLBACK_JSON } } } as const;

/** The path parameters the schemas accept. */
export interface NameParams {
  name: string;
}
export interface VersionParams extends NameParams {
  version: string;
}

/** The JSON body the schemas accept. */
export interface VersionBody {
  version?: string;
}
