// JSON-schema validation (ajv) whose error messages name the field, the rule and the value given,
// shared by the configuration and the control API's request schemas.
import { Ajv, type AnySchemaObject, type ErrorObject, type Options, type ValidateFunction } from 'ajv';

/**
 * Two annotations a schema may carry to word its errors:
 * - `hint`: what the value must do, completing "… must <hint>" ("be a semantic version such as
 *   1.2.3"); used for every error at that schema instead of the generic wording.
 * - `title` (standard): names the value in the message, `version "1.0"`, instead of its path.
 */
export function addAnnotations(ajv: Ajv): Ajv {
  if (!ajv.getKeyword('hint')) ajv.addKeyword({ keyword: 'hint', schemaType: 'string' });
  return ajv;
}

/** The options a schema-checked part needs: every error at once, schemas kept for the messages. */
export const SCHEMA_OPTIONS: Options = { allErrors: true, verbose: true, strict: true, allowUnionTypes: true };

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/** One compiled schema. Defaults written in the schema are filled into the data it checks. */
export class SchemaCheck<T> {
  readonly #validate: ValidateFunction<T>;

  constructor(schema: AnySchemaObject) {
    const ajv = addAnnotations(new Ajv({ ...SCHEMA_OPTIONS, useDefaults: true }));
    this.#validate = ajv.compile<T>(schema);
  }

  /** Checks `data` (filling in defaults); problems are worded under `where` (a path prefix). */
  check(data: unknown, where = ''): Checked<T> {
    if (this.#validate(data)) return { ok: true, value: data };
    return { ok: false, problems: describeErrors(this.#validate.errors ?? [], where) };
  }
}

/** ajv's errors as sentences that name the field: `components[0].logLevel must be one of …`. */
export function describeErrors(errors: readonly ErrorObject[], where = ''): string[] {
  const out: string[] = [];
  for (const e of errors) {
    const text = describe(e, where);
    if (text !== null && !out.includes(text)) out.push(text);
  }
  return out;
}

function describe(e: ErrorObject, where: string): string | null {
  // if/then, anyOf and oneOf report their branches' errors too; those say what is wrong.
  if (e.keyword === 'if' || e.keyword === 'anyOf' || e.keyword === 'oneOf') return null;
  const parent = e.parentSchema ?? {};
  const path = joinPath(where, e.instancePath);
  if (e.keyword === 'additionalProperties' && typeof parent.hint !== 'string') {
    const field = joinPath(path, `/${String(e.params.additionalProperty)}`);
    const known = Object.keys((parent.properties as Record<string, unknown> | undefined) ?? {});
    return `${field} is not a known field${known.length ? ` (known: ${known.join(', ')})` : ''}`;
  }
  if (e.keyword === 'required' && typeof parent.hint !== 'string') {
    return `${joinPath(path, `/${String(e.params.missingProperty)}`)} is required`;
  }
  const subject = typeof parent.title === 'string' ? `${parent.title} ${shown(e.data)}` : path || 'the value';
  const got = typeof parent.title === 'string' ? '' : ` (got ${shown(e.data)})`;
  if (typeof parent.hint === 'string') return `${subject} must ${parent.hint}${got}`;
  return `${subject} must ${rule(e, parent)}${got}`;
}

/** The generic wording of one keyword's rule. */
function rule(e: ErrorObject, parent: AnySchemaObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'enum':
      return `be one of ${(p.allowedValues as unknown[]).map(String).join(', ')}`;
    case 'const':
      return `be ${JSON.stringify(p.allowedValue)}`;
    case 'type':
      return `be ${typeNoun(String(p.type))}`;
    case 'minimum':
    case 'maximum':
      if (typeof parent.minimum === 'number' && typeof parent.maximum === 'number') {
        return `be ${typeNoun(String(parent.type ?? 'number'))} from ${parent.minimum} to ${parent.maximum}`;
      }
      return `be ${e.keyword === 'minimum' ? '>=' : '<='} ${String(p.limit)}`;
    case 'exclusiveMinimum':
      return `be greater than ${String(p.limit)}`;
    case 'exclusiveMaximum':
      return `be less than ${String(p.limit)}`;
    case 'pattern':
      return `match /${String(p.pattern)}/`;
    case 'minLength':
      return p.limit === 1 ? 'not be empty' : `be at least ${String(p.limit)} characters long`;
    case 'maxLength':
      return `be at most ${String(p.limit)} characters long`;
    case 'minItems':
      return p.limit === 1 ? 'not be empty' : `have at least ${String(p.limit)} items`;
    case 'maxItems':
      return `have at most ${String(p.limit)} items`;
    case 'uniqueItems':
      return `not repeat an item (items ${String(p.j)} and ${String(p.i)} are equal)`;
    default:
      return e.message ?? `satisfy ${e.keyword}`;
  }
}

const NOUNS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

/** "integer" → "an integer"; "string,number" → "a string or a number". */
function typeNoun(type: string): string {
  const nouns = type.split(',').map((t) => NOUNS[t] ?? t);
  return nouns.length === 1 ? nouns[0]! : `${nouns.slice(0, -1).join(', ')} or ${nouns.at(-1)!}`;
}

/** A JSON pointer (`/components/0/logLevel`) under a prefix, as `components[0].logLevel`. */
function joinPath(where: string, pointer: string): string {
  let out = where;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** A value as the message quotes it: JSON, cut short. */
function shown(value: unknown): string {
  const text = value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
