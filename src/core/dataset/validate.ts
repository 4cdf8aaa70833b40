import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { FieldMapping, FormatName, FormatSpec } from './types';
import type { Issue } from './issue';
import { FORMAT_SCHEMAS } from './schemas';
import { joinPointer, parsePointer } from './json-pointer';

/** A record with hundreds of bad turns would otherwise bury the line under diagnostics. */
export const MAX_SCHEMA_ISSUES = 10;

const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
const compiled = new Map<FormatName, ValidateFunction>();

/** Compiled on first use and kept: compiling costs milliseconds, validating microseconds. */
function validatorFor(name: FormatName): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    v = ajv.compile(FORMAT_SCHEMAS[name]);
    compiled.set(name, v);
  }
  return v;
}

/**
 * Checks a parsed record (already known to be a plain object) against its format; returns one
 * `schema` Issue per violation, in plain words, or an empty array.
 */
export function validateRecord(value: Record<string, unknown>, format: FormatSpec): Issue[] {
  if (format.name === 'custom') {
    if (!format.mapping) throw new TypeError('a custom format needs a field mapping');
    return capped(validateMapping(value, format.mapping));
  }
  const validate = validatorFor(format.name);
  if (validate(value)) return [];
  const issues: Issue[] = [];
  for (const e of validate.errors ?? []) {
    // `if` only says that the `else` branch failed; that branch's own error is reported.
    if (e.keyword === 'if') continue;
    issues.push(describeAjvError(e, value, format.name));
  }
  return capped(issues);
}

function capped(issues: Issue[]): Issue[] {
  if (issues.length <= MAX_SCHEMA_ISSUES) return issues;
  const rest = issues.length - MAX_SCHEMA_ISSUES + 1;
  const kept = issues.slice(0, MAX_SCHEMA_ISSUES - 1);
  kept.push({ code: 'schema', severity: 'error', reason: `... and ${rest} more schema problems in this record`, pointer: '' });
  return kept;
}

function describeAjvError(e: ErrorObject, root: unknown, format: FormatName): Issue {
  const path = e.instancePath;
  const where = path === '' ? '' : `${path}: `;
  switch (e.keyword) {
    case 'required': {
      const field = (e.params as { missingProperty: string }).missingProperty;
      const suffix = path === '' ? ` (the ${format} format)` : '';
      return {
        code: 'schema',
        severity: 'error',
        reason: `${where}missing required field "${field}"${suffix}`,
        pointer: path + joinPointer([field]),
        at: path,
      };
    }
    case 'type': {
      const t = (e.params as { type: string | string[] }).type;
      const types = Array.isArray(t) ? t : t.split(',');
      return {
        code: 'schema',
        severity: 'error',
        reason: `${where}expected ${orList(types.map(typeInWords))}, got ${typeOf(valueAt(root, path))}`,
        pointer: path,
      };
    }
    case 'enum':
    case 'const': {
      const allowed = e.keyword === 'enum' ? (e.params as { allowedValues: unknown[] }).allowedValues : [(e.params as { allowedValue: unknown }).allowedValue];
      return {
        code: 'schema',
        severity: 'error',
        reason: `${path || 'the record'} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (got ${quote(valueAt(root, path))})`,
        pointer: path,
      };
    }
    case 'minItems': {
      const limit = (e.params as { limit: number }).limit;
      const actual = valueAt(root, path);
      const got = Array.isArray(actual) && actual.length === 0 ? 'an empty array' : `${Array.isArray(actual) ? actual.length : 0}`;
      return {
        code: 'schema',
        severity: 'error',
        reason: `${where}expected at least ${limit} ${limit === 1 ? 'item' : 'items'}, got ${got}`,
        pointer: path,
      };
    }
    default:
      return { code: 'schema', severity: 'error', reason: `${path || 'the record'} ${e.message ?? 'is invalid'}`, pointer: path };
  }
}

/**
 * Custom mappings are checked by walking each dotted path: a handful of lookups, no schema to
 * compile per mapping, and the same plain-words messages as the built-in formats.
 */
function validateMapping(value: Record<string, unknown>, mapping: FieldMapping): Issue[] {
  const issues: Issue[] = [];
  const fields: Array<[string | undefined, boolean]> = [
    [mapping.instruction, true],
    [mapping.input, false],
    [mapping.response, true],
  ];
  for (const [path, required] of fields) {
    if (path === undefined) continue;
    const r = resolvePath(value, path);
    if (r.kind === 'found') {
      if (typeof r.value !== 'string') {
        issues.push({ code: 'schema', severity: 'error', reason: `${r.pointer}: expected a string, got ${typeOf(r.value)}`, pointer: r.pointer });
      }
    } else if (r.kind === 'missing') {
      if (required) {
        const where = r.parentPointer === '' ? '' : `${r.parentPointer}: `;
        issues.push({
          code: 'schema',
          severity: 'error',
          reason: `${where}missing required field "${r.key}" (mapped from "${path}")`,
          pointer: r.pointer,
          at: r.parentPointer,
        });
      }
    } else {
      issues.push({
        code: 'schema',
        severity: 'error',
        reason: `${r.pointer}: expected an object or array to look up "${r.key}" in (mapped from "${path}"), got ${typeOf(r.value)}`,
        pointer: r.pointer,
      });
    }
  }
  return issues;
}

export type PathLookup =
  | { kind: 'found'; value: unknown; pointer: string }
  | { kind: 'missing'; key: string; pointer: string; parentPointer: string }
  | { kind: 'not-a-container'; key: string; value: unknown; pointer: string };

/**
 * Follows a dotted path (`data.q`, `instances.0.output`): a segment indexes an array when the
 * current value is an array, and names a member otherwise.
 */
export function resolvePath(root: unknown, dotted: string): PathLookup {
  const keys = dotted.split('.');
  let current: unknown = root;
  let pointer = '';
  for (const key of keys) {
    if (Array.isArray(current)) {
      const next = /^(0|[1-9]\d*)$/.test(key) ? current[Number(key)] : undefined;
      if (next === undefined) return { kind: 'missing', key, pointer: pointer + joinPointer([key]), parentPointer: pointer };
      current = next;
    } else if (current !== null && typeof current === 'object') {
      const obj = current as Record<string, unknown>;
      if (!Object.prototype.hasOwnProperty.call(obj, key)) {
        return { kind: 'missing', key, pointer: pointer + joinPointer([key]), parentPointer: pointer };
      }
      current = obj[key];
    } else {
      return { kind: 'not-a-container', key, value: current, pointer };
    }
    pointer += joinPointer([key]);
  }
  return { kind: 'found', value: current, pointer };
}

function valueAt(root: unknown, pointer: string): unknown {
  let current = root;
  for (const token of parsePointer(pointer) ?? []) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[token];
  }
  return current;
}

/** JSON type names as users know them from their data. */
export function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v === undefined) return 'nothing';
  return typeof v;
}

function typeInWords(t: string): string {
  switch (t) {
    case 'null':
      return 'null';
    case 'array':
    case 'object':
    case 'integer':
      return `an ${t}`;
    default:
      return `a ${t}`;
  }
}

function orList(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function quote(v: unknown): string {
  const s = v === undefined ? 'nothing' : JSON.stringify(v);
  return s.length > 40 ? s.slice(0, 39) + '…' : s;
}
