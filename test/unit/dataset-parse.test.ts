import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DETECT_MAX_LINES,
  MAX_SCHEMA_ISSUES,
  isScorable,
  parseDocument,
  parseFile,
  parseRecord,
  type FormatSource,
  type FormatSpec,
  type ParsedRecord,
  type Problem,
} from '../../src/core/dataset';

// Compiled to out/test/unit; the fixtures stay in the source tree.
const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures');
const ALPACA = readFileSync(join(FIXTURES, 'alpaca-cherry-sample.jsonl'), 'utf8');
const ALPACA_LINES = ALPACA.split('\n').filter((l) => l !== '');

const ALPACA_SPEC: FormatSpec = { name: 'alpaca' };

function one(text: string, format: FormatSpec = ALPACA_SPEC, line = 1): ParsedRecord {
  return parseRecord({ line, text, offset: 0 }, format);
}

/** The problem as a user sees it: message and the underlined text. */
function shown(text: string, p: Problem): [string, string, string] {
  return [p.code, p.message, text.slice(p.startColumn, p.endColumn)];
}

describe('parseRecord: JSON syntax', () => {
  it('names the line and the column of the first bad character', () => {
    const text = '{"instruction":"hi" "output":"x"}';
    const r = one(text, ALPACA_SPEC, 7);
    assert.equal(r.value, undefined);
    assert.equal(r.pair, undefined);
    assert.deepEqual(r.problems, [
      {
        line: 7,
        startColumn: 20,
        endColumn: 21,
        severity: 'error',
        code: 'invalid-json',
        message: "line 7, column 21: invalid JSON: expected ',' or '}' after property value",
        reason: "invalid JSON: expected ',' or '}' after property value",
      },
    ]);
  });

  it('points at an unexpected token that V8 does not locate', () => {
    const text = '{"instruction":"hi","output":tru}';
    assert.deepEqual(
      one(text).problems.map((p) => shown(text, p)),
      [['invalid-json', "line 1, column 33: invalid JSON: unexpected token '}'", '}']],
    );
  });

  it('puts an unterminated record at the end of its line', () => {
    const text = '{"instruction":"hi","output":"cut off';
    const [p] = one(text, ALPACA_SPEC, 3).problems;
    assert.equal(p.message, `line 3, column ${text.length + 1}: invalid JSON: unterminated string`);
    assert.equal(p.startColumn, text.length);
    assert.equal(p.endColumn, text.length);
  });

  it('counts columns in UTF-16 units, as editors do', () => {
    const text = '{"instruction":"😀 café","output":x}';
    const [p] = one(text).problems;
    assert.equal(text.slice(p.startColumn, p.endColumn), 'x');
    // 33 in code points; the emoji is two UTF-16 units.
    assert.equal(p.startColumn, 34);
  });

  it('explains a BOM in the middle of a file', () => {
    const [p] = one('\ufeff{"instruction":"a","output":"b"}', ALPACA_SPEC, 5).problems;
    assert.equal(p.code, 'invalid-json');
    assert.match(p.message, /^line 5, column 1: invalid JSON: a byte order mark \(BOM\) in the middle of the file/);
  });

  it('rejects values that are not objects', () => {
    for (const [text, got] of [
      ['[{"instruction":"a","output":"b"}]', 'an array'],
      ['42', 'a number'],
      ['"text"', 'a string'],
      ['null', 'null'],
    ]) {
      const r = one(text, ALPACA_SPEC, 2);
      assert.deepEqual(
        r.problems.map((p) => [p.code, p.message]),
        [['not-an-object', `line 2: expected one JSON object per line, got ${got}`]],
      );
    }
  });
});

describe('parseRecord: JSON array files', () => {
  const hint = "line 1: this looks like a JSON array file, not JSONL; convert with `jq -c '.[]'`";

  it('recognises a pretty-printed array', () => {
    const doc = parseDocument('[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "c", "output": "d"}\n]\n');
    assert.deepEqual(
      doc.records[0].problems.map((p) => [p.code, p.message, p.startColumn, p.endColumn]),
      [['json-array-file', hint, 0, 1]],
    );
  });

  it('recognises an array on one line', () => {
    const r = one('  [{"instruction":"a","output":"b"}, {"instruction":"c","output":"d"}]');
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.message, p.startColumn]),
      [['json-array-file', hint, 2]],
    );
  });
});

describe('parseRecord: schema', () => {
  it('names the pointer, what was expected and what was found, and underlines the value', () => {
    const text = '{"instruction":"Add.","input":"2+2","output":4}';
    const r = one(text, ALPACA_SPEC, 12);
    assert.equal(r.pair, undefined);
    assert.deepEqual(r.value, JSON.parse(text));
    assert.deepEqual(
      r.problems.map((p) => [...shown(text, p), p.pointer, p.severity]),
      [['schema', 'line 12: /output: expected a string, got number', '4', '/output', 'error']],
    );
  });

  it('lists the allowed values of an enum', () => {
    const text =
      '{"conversations":[{"from":"human","value":"a"},{"from":"gpt","value":"b"},{"from":"human","value":"c"},{"from":"robot","value":"d"}]}';
    const r = one(text, { name: 'sharegpt' }, 12);
    assert.deepEqual(
      r.problems.map((p) => [...shown(text, p), p.pointer]),
      [
        [
          'schema',
          'line 12: /conversations/3/from must be one of "system", "human", "user", "gpt", "assistant", "chatgpt", "bard", "model", "function_call", "observation", "tool" (got "robot")',
          '"robot"',
          '/conversations/3/from',
        ],
      ],
    );
  });

  it('underlines the object that lacks a required field', () => {
    const text = '{"instruction":"Say hi.","id":1}';
    assert.deepEqual(
      one(text).problems.map((p) => [...shown(text, p), p.pointer]),
      [['schema', 'line 1: missing required field "output" (the alpaca format)', text, '/output']],
    );
    const conv = '{"conversations":[{"from":"human","value":"q"},{"from":"gpt"}]}';
    assert.deepEqual(
      one(conv, { name: 'sharegpt' }).problems.map((p) => [...shown(conv, p), p.pointer]),
      [['schema', 'line 1: /conversations/1: missing required field "value"', '{"from":"gpt"}', '/conversations/1/value']],
    );
  });

  it('reports all errors of a record, in plain words', () => {
    const text = '{"messages":[{"role":"user","content":5},{"role":"assistant","content":"ok"},{"content":"x"}]}';
    assert.deepEqual(
      one(text, { name: 'messages' }).problems.map((p) => [p.reason, text.slice(p.startColumn, p.endColumn)]),
      [
        ['/messages/0/content: expected a string, an array or null, got number', '5'],
        ['/messages/2: missing required field "role"', '{"content":"x"}'],
      ],
    );
    assert.deepEqual(
      one('{"messages":[]}', { name: 'messages' }).problems.map((p) => p.reason),
      ['/messages: expected at least 1 item, got an empty array'],
    );
  });

  it(`caps a record's schema problems at ${MAX_SCHEMA_ISSUES}`, () => {
    const turns = Array.from({ length: 40 }, () => ({ from: 'robot', value: 'x' }));
    const problems = one(JSON.stringify({ conversations: turns }), { name: 'sharegpt' }).problems;
    assert.equal(problems.length, MAX_SCHEMA_ISSUES);
    assert.equal(problems[MAX_SCHEMA_ISSUES - 1].reason, `... and ${40 - MAX_SCHEMA_ISSUES + 1} more schema problems in this record`);
  });
});

describe('parseRecord: other cases', () => {
  it('marks blank lines and reports nothing for them', () => {
    for (const text of ['', '   ', '\t']) {
      const r = one(text, ALPACA_SPEC, 4);
      assert.equal(r.blank, true);
      assert.deepEqual(r.problems, []);
    }
  });

  it('reports invalid UTF-8 and still reads the record', () => {
    const text = '{"instruction":"caf\ufffd","output":"x"}';
    const r = parseRecord({ line: 2, text, offset: 40, invalidUtf8: { byteColumn: 19, column: 19 } }, ALPACA_SPEC);
    assert.deepEqual(
      r.problems.map((p) => shown(text, p)),
      [['invalid-utf8', 'line 2, column 20: the line is not valid UTF-8 (first bad byte at byte 19 of the line); it was read with U+FFFD replacement characters', '\ufffd']],
    );
    assert.equal(r.pair?.instruction, 'caf\ufffd');
    assert.equal(isScorable(r), false);
  });

  it('reads a 5 MB record and locates an error at its far end', () => {
    const output = 'lorem ipsum '.repeat(450_000);
    const good = JSON.stringify({ instruction: 'Repeat.', output });
    assert.ok(good.length > 5e6);
    assert.equal(one(good).pair?.response, output);
    const bad = good.slice(0, -1) + ',}';
    const [p] = one(bad).problems;
    assert.equal(p.code, 'invalid-json');
    assert.equal(p.startColumn, bad.length - 1);
  });

  it('says which records can be scored', () => {
    assert.equal(isScorable(one(ALPACA_LINES[0])), true);
    assert.equal(isScorable(one('{"instruction":"a","output":" "}')), false);
    assert.equal(isScorable(one('{"instruction":"a"}')), false);
    assert.equal(isScorable(one('')), false);
    assert.equal(isScorable(one('{"instruction":"","output":"b"}')), true);
  });
});

describe('parseDocument', () => {
  it('detects the format and keeps line numbers and offsets of a BOM, CRLF document', () => {
    const text = '\ufeff' + ALPACA_LINES.slice(0, 3).join('\r\n') + '\r\n\r\n';
    const doc = parseDocument(text);
    assert.deepEqual(doc.format, { name: 'alpaca' });
    assert.equal(doc.formatSource, 'detected');
    assert.deepEqual(
      doc.records.map((r) => [r.line, r.blank, r.problems.length]),
      [
        [1, false, 0],
        [2, false, 0],
        [3, false, 0],
        [4, true, 0],
        [5, true, 0],
      ],
    );
    assert.equal(doc.records[0].offset, 1);
    assert.equal(doc.records[1].offset, 1 + ALPACA_LINES[0].length + 2);
    assert.equal(doc.records[2].text, ALPACA_LINES[2]);
  });

  it('reports problems on the lines where they are, around good records', () => {
    const lines = [ALPACA_LINES[0], '', '{"instruction":"x","output":1}', '{"instruction":', ALPACA_LINES[1]];
    const doc = parseDocument(lines.join('\n'));
    assert.deepEqual(
      doc.records.flatMap((r) => r.problems.map((p) => p.message)),
      ['line 3: /output: expected a string, got number', `line 4, column 16: invalid JSON: unexpected end of input`],
    );
    assert.equal(doc.records.filter(isScorable).length, 2);
  });

  it('detects from the majority when a few records are malformed', () => {
    const text = ['{"question":"q"}', ...fixture('gsm8k-test-sample.jsonl')].join('\n');
    const doc = parseDocument(text);
    assert.deepEqual(doc.format, { name: 'qa' });
    assert.deepEqual(doc.records[0].problems.map((p) => p.reason), ['missing required field "answer" (the qa format)']);
  });

  it('uses the given format, and falls back to alpaca when nothing matches', () => {
    const given = parseDocument(ALPACA_LINES[0], { name: 'qa' });
    assert.equal(given.formatSource, 'given');
    assert.equal(given.records[0].problems.length, 2);

    const unknown = parseDocument(fixture('self-instruct-seed-sample.jsonl').join('\n'));
    assert.equal(unknown.formatSource, 'fallback');
    assert.deepEqual(unknown.format, { name: 'alpaca' });
    assert.equal(unknown.records[0].problems[0].reason, 'missing required field "output" (the alpaca format)');
  });
});

function fixture(name: string): string[] {
  return readFileSync(join(FIXTURES, name), 'utf8').split('\n').filter((l) => l !== '');
}

describe('parseFile', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sift-parse-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function all(path: string, format?: FormatSpec) {
    const events: string[] = [];
    const records: ParsedRecord[] = [];
    const gen = parseFile(path, format, {
      onFormat: (f: FormatSpec, source: FormatSource) => events.push(`${f.name}:${source}@${records.length}`),
    });
    let step = await gen.next();
    while (!step.done) {
      records.push(step.value);
      step = await gen.next();
    }
    return { records, events, returned: step.value };
  }

  it('detects the format before the first record and streams every line in order', async () => {
    const path = join(dir, 'qa.jsonl');
    const lines = fixture('gsm8k-test-sample.jsonl');
    const body: string[] = [];
    for (let i = 0; i < 8; i++) body.push(...lines);
    writeFileSync(path, body.join('\n') + '\n\n');
    const { records, events, returned } = await all(path);
    assert.deepEqual(events, ['qa:detected@0']);
    assert.deepEqual(returned, { name: 'qa' });
    assert.equal(records.length, body.length + 1);
    assert.deepEqual(
      records.map((r) => r.line),
      records.map((_, i) => i + 1),
    );
    assert.ok(records.slice(0, -1).every((r) => isScorable(r)));
    assert.equal(records[records.length - 1].blank, true);
  });

  it('reports the given format and byte offsets', async () => {
    const path = join(dir, 'alpaca.jsonl');
    writeFileSync(path, '\ufeff' + ALPACA);
    const { records, events } = await all(path, ALPACA_SPEC);
    assert.deepEqual(events, ['alpaca:given@0']);
    assert.equal(records.length, ALPACA_LINES.length);
    assert.equal(records[0].offset, 3);
    assert.equal(records[1].offset, 3 + Buffer.byteLength(ALPACA_LINES[0]) + 1);
  });

  it('stops buffering for detection after DETECT_MAX_LINES lines', async () => {
    const path = join(dir, 'junk-first.jsonl');
    const junk = Array(DETECT_MAX_LINES + 5).fill('not json');
    writeFileSync(path, [...junk, '{"prompt":"p","completion":"c"}'].join('\n'));
    const { records, events } = await all(path);
    assert.deepEqual(events, ['alpaca:fallback@0']);
    assert.equal(records.length, junk.length + 1);
    assert.equal(records[0].problems[0].code, 'invalid-json');
  });

  it('stops at a JSON array file: one hint, not one error per line of the array', async () => {
    const path = join(dir, 'array.json');
    writeFileSync(path, JSON.stringify([{ instruction: 'a', output: 'b' }, { instruction: 'c', output: 'd' }], null, 2) + '\n');
    const { records } = await all(path);
    assert.deepEqual(
      records.flatMap((r) => r.problems.map((p) => [p.code, p.line, p.startColumn])),
      [['json-array-file', 1, 0]],
    );
  });

  it('names a UTF-16 file (with or without BOM, either byte order) and how to convert it, once', async () => {
    const text = ALPACA_LINES.slice(0, 3).join('\n') + '\n';
    const le = Buffer.from(text, 'utf16le');
    const cases: [string, Buffer, string][] = [
      ['le-bom.jsonl', Buffer.concat([Buffer.from([0xff, 0xfe]), le]), 'UTF-16LE'],
      ['le.jsonl', le, 'UTF-16LE'],
      ['be-bom.jsonl', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(le).swap16()]), 'UTF-16BE'],
      ['be.jsonl', Buffer.from(le).swap16(), 'UTF-16BE'],
    ];
    for (const [name, bytes, encoding] of cases) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const { records } = await all(path);
      assert.deepEqual(
        records.flatMap((r) => r.problems.map((p) => [p.code, p.line, p.message])),
        [['utf16-file', 1, `line 1: the file is ${encoding}, not UTF-8: convert it, e.g. \`iconv -f ${encoding} -t UTF-8 in.jsonl > out.jsonl\``]],
        name,
      );
    }
  });

  it('reports invalid UTF-8 read from disk, on the right line and column', async () => {
    const path = join(dir, 'latin1.jsonl');
    writeFileSync(
      path,
      Buffer.concat([Buffer.from(ALPACA_LINES[0] + '\n'), Buffer.from('{"instruction":"caf'), Buffer.from([0xe9]), Buffer.from('","output":"ok"}\n')]),
    );
    const { records } = await all(path);
    assert.deepEqual(
      records[1].problems.map((p) => [p.code, p.line, p.startColumn, p.severity]),
      [['invalid-utf8', 2, 19, 'error']],
    );
    assert.equal(records[1].pair?.instruction, 'caf\ufffd');
    assert.deepEqual(records[0].problems, []);
  });
});
