/**
 * Reading a teacher's reflection (METHODS §4.5): a JSON object validated with ajv when structured
 * output was requested, delimited sections otherwise. Parsing never throws and never invents text:
 * every field comes back either usable or with the reason it is not, and the caller decides (retry
 * once, then fall back visibly to the original text).
 */
import Ajv, { type ValidateFunction } from 'ajv';
import { END_MARKER, OUTPUT_SECTIONS, type OutputSection } from './prompts';
import type { JsonSchemaFormat } from './teacher';
import type { ReflectedField, ReflectionKind } from './types';

export type OutputField = OutputSection['field'];

/** The JSON schema of each reflection (OpenAI strict mode: every field required, nothing else). */
export function reflectionSchema(kind: ReflectionKind): JsonSchemaFormat {
  const fields = OUTPUT_SECTIONS[kind].map((s) => s.field);
  const properties: Record<string, unknown> = {};
  for (const field of fields) properties[field] = { type: 'string' };
  return {
    name: kind === 'instruction' ? 'sift_instruction_reflection' : 'sift_response_reflection',
    strict: true,
    schema: { type: 'object', properties, required: fields, additionalProperties: false },
  };
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new Map<ReflectionKind, ValidateFunction>();
function validatorFor(kind: ReflectionKind): ValidateFunction {
  let v = validators.get(kind);
  if (!v) {
    v = ajv.compile(reflectionSchema(kind).schema);
    validators.set(kind, v);
  }
  return v;
}

/** One parsed field: its text, or why there is no usable text. */
export type FieldOutcome = { ok: true; text: string } | { ok: false; reason: string };

export interface ParsedOutput {
  kind: ReflectionKind;
  fields: Partial<Record<OutputField, FieldOutcome>>;
  /** Problems with the output as a whole (invalid JSON, schema violations), already reflected in `fields`. */
  problems: string[];
}

/** Fields the pair needs (the critique is shown but never forces a retry or a fallback). */
export function pairFields(kind: ReflectionKind): ReflectedField[] {
  return kind === 'instruction' ? ['instruction', 'response'] : ['response'];
}

/** True when every field the pair needs is usable. */
export function isComplete(parsed: ParsedOutput): boolean {
  return pairFields(parsed.kind).every((f) => parsed.fields[f]?.ok === true);
}

/** How many needed fields are unusable (to pick the better of two attempts). */
export function unusableCount(parsed: ParsedOutput): number {
  return pairFields(parsed.kind).filter((f) => parsed.fields[f]?.ok !== true).length;
}

interface ReplyInfo {
  content: string;
  /** `length`: the output was cut at max_tokens. */
  finishReason?: string;
  refusal?: string;
}

/** Every field unusable for one reason. */
function allFailed(kind: ReflectionKind, reason: string): ParsedOutput {
  const fields: ParsedOutput['fields'] = {};
  for (const s of OUTPUT_SECTIONS[kind]) fields[s.field] = { ok: false, reason };
  return { kind, fields, problems: [reason] };
}

/** Parses a structured (JSON) reply. */
export function parseStructured(kind: ReflectionKind, reply: ReplyInfo): ParsedOutput {
  if (reply.refusal) return allFailed(kind, `the teacher refused: ${shorten(reply.refusal)}`);
  const text = stripCodeFence(reply.content.trim());
  if (text === '') return allFailed(kind, 'the teacher returned no text');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const cut = reply.finishReason === 'length' ? ' (cut off at the token limit)' : '';
    return allFailed(kind, `the reply is not valid JSON${cut}: ${(error as Error).message}`);
  }
  const validate = validatorFor(kind);
  const problems: string[] = [];
  if (!validate(value)) {
    for (const e of validate.errors ?? []) {
      const where = e.instancePath === '' ? 'the reply' : `"${e.instancePath.slice(1)}"`;
      const extra = e.keyword === 'additionalProperties' ? ` ("${String((e.params as { additionalProperty?: string }).additionalProperty)}")` : '';
      problems.push(`${where} ${e.message ?? 'is invalid'}${extra}`);
    }
  }
  const fields: ParsedOutput['fields'] = {};
  const object = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  if (!object) return allFailed(kind, 'the reply is JSON but not an object');
  for (const section of OUTPUT_SECTIONS[kind]) {
    const raw = object[section.field];
    if (raw === undefined) fields[section.field] = { ok: false, reason: `the field "${section.field}" is missing` };
    else if (typeof raw !== 'string') fields[section.field] = { ok: false, reason: `the field "${section.field}" is not a string` };
    else fields[section.field] = usable(raw, section);
  }
  // Extra fields break strict validity but lose nothing: they are reported, not fatal.
  return { kind, fields, problems };
}

/**
 * Parses a delimited reply: each section opens with its marker `<<<NAME>>>` (case, spacing,
 * underscores and Markdown emphasis around it are tolerated) and runs to the next known marker or
 * the end marker `<<<END>>>`. Only a full marker ends a section: an answer containing the word
 * "End" (or "END") is kept whole, unlike the reference post-processing (METHODS §4.5). Text after
 * the end marker is ignored. A section given twice is unusable unless all but one copy are the
 * template's placeholder echoed back, or the copies agree.
 */
export function parseDelimited(kind: ReflectionKind, reply: ReplyInfo): ParsedOutput {
  if (reply.refusal) return allFailed(kind, `the teacher refused: ${shorten(reply.refusal)}`);
  const sections = OUTPUT_SECTIONS[kind];
  const known = new Map<string, OutputSection | 'end'>();
  for (const s of sections) known.set(normalizeMarker(s.marker), s);
  known.set(normalizeMarker(END_MARKER), 'end');
  // Markers every reflection kind uses, so a reply with the other kind's sections still splits cleanly.
  for (const other of Object.values(OUTPUT_SECTIONS).flat()) {
    if (!known.has(normalizeMarker(other.marker))) known.set(normalizeMarker(other.marker), 'end');
  }
  const content = reply.content.replace(/\r\n?/g, '\n');
  const marker = /^[ \t>*_#`]*<<<[ \t]*([A-Za-z][A-Za-z _-]*?)[ \t]*>>>[ \t*_`]*/gm;
  const found: { section: OutputSection | 'end'; start: number; end: number }[] = [];
  for (const m of content.matchAll(marker)) {
    const section = known.get(normalizeMarker(m[1]));
    if (section) found.push({ section, start: m.index, end: m.index + m[0].length });
  }
  const copies = new Map<OutputField, string[]>();
  let ended = false;
  for (let i = 0; i < found.length; i++) {
    const f = found[i];
    if (f.section === 'end') {
      ended = true;
      continue;
    }
    // A section after the end marker is an echo of the layout or a second try; keep it too, the
    // duplicate rule below sorts it out.
    const text = content.slice(f.end, i + 1 < found.length ? found[i + 1].start : content.length);
    const list = copies.get(f.section.field) ?? [];
    list.push(text);
    copies.set(f.section.field, list);
  }
  const lastSection = [...found].reverse().find((f) => f.section !== 'end');
  const truncated = reply.finishReason === 'length' && !ended;
  const fields: ParsedOutput['fields'] = {};
  const problems: string[] = [];
  if (found.length === 0) problems.push('the reply has none of the section markers');
  for (const section of sections) {
    const list = copies.get(section.field) ?? [];
    if (list.length === 0) {
      fields[section.field] = { ok: false, reason: `the section <<<${section.marker}>>> is missing` };
      continue;
    }
    const outcomes = list.map((text) => usable(text, section));
    const good = outcomes.filter((o): o is { ok: true; text: string } => o.ok);
    const distinct = new Set(good.map((o) => o.text));
    if (good.length === 0) fields[section.field] = outcomes[outcomes.length - 1];
    else if (distinct.size > 1) fields[section.field] = { ok: false, reason: `the section <<<${section.marker}>>> appears ${list.length} times with different text` };
    else fields[section.field] = good[0];
    if (truncated && lastSection !== undefined && lastSection.section !== 'end' && lastSection.section.field === section.field && fields[section.field]?.ok) {
      fields[section.field] = { ok: false, reason: `the section <<<${section.marker}>>> was cut off at the token limit` };
    }
  }
  return { kind, fields, problems };
}

/**
 * Whether a field's text can be used: not empty, not "N/A" (or none, null, a dash, an ellipsis),
 * and not the template's placeholder wording echoed back (METHODS §4.5). The text is trimmed.
 */
export function usable(raw: string, section: OutputSection): FieldOutcome {
  const text = raw.trim();
  if (text === '') return { ok: false, reason: `the ${describe(section)} is empty` };
  const bare = text.replace(/^[\s"'`*_([{<]+|[\s"'`*_)\]}>.]+$/g, '').toLowerCase();
  if (/^(n\/?a|none|null|nil|not applicable|-+|…|\.{2,})$/.test(bare) || bare === '') {
    return { ok: false, reason: `the ${describe(section)} says "${shorten(text, 20)}"` };
  }
  const squash = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
  if (squash(text).includes(squash(section.placeholder))) {
    return { ok: false, reason: `the ${describe(section)} is the template's placeholder text, not an answer` };
  }
  return { ok: true, text };
}

function describe(section: OutputSection): string {
  switch (section.field) {
    case 'critique':
      return 'critique';
    case 'instruction':
      return 'new instruction';
    case 'response':
      return section.marker === 'BETTER ANSWER' ? 'better answer' : 'new answer';
  }
}

function normalizeMarker(name: string): string {
  return name.toUpperCase().replace(/[\s_-]+/g, ' ').trim();
}

/** A model that wraps its JSON in a Markdown code fence still gave JSON. */
function stripCodeFence(text: string): string {
  const m = /^```[a-zA-Z]*\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  return m ? m[1].trim() : text;
}

function shorten(text: string, max = 200): string {
  const t = text.trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}
