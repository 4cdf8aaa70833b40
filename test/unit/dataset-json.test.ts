import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  describeJsonSyntaxError,
  findJsonSyntaxError,
  joinPointer,
  jsonPointerRange,
  parsePointer,
} from '../../src/core/dataset';

// Compiled to out/test/unit; the fixtures stay in the source tree.
const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures');
const ALPACA_LINES = readFileSync(join(FIXTURES, 'alpaca-cherry-sample.jsonl'), 'utf8').split('\n').filter((l) => l !== '');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function at(text: string, pointer: string): string | undefined {
  const r = jsonPointerRange(text, pointer);
  return r && text.slice(r.start, r.end);
}

describe('JSON pointers', () => {
  it('parses and joins with RFC 6901 escapes', () => {
    assert.deepEqual(parsePointer(''), []);
    assert.deepEqual(parsePointer('/a~1b/~0c/0'), ['a/b', '~c', '0']);
    assert.equal(parsePointer('no-slash'), undefined);
    assert.equal(joinPointer(['a/b', '~c', 0]), '/a~1b/~0c/0');
  });
});

describe('jsonPointerRange', () => {
  const text = ' {"id": 7, "conversations": [ {"from": "human", "value": "hi \\"there\\""}, {"from":"robot","value":{"x":[1,2]}} ], "é😀": null } ';

  it('finds members, elements and nested values', () => {
    assert.equal(at(text, ''), text.trim());
    assert.equal(at(text, '/id'), '7');
    assert.equal(at(text, '/conversations/0/value'), '"hi \\"there\\""');
    assert.equal(at(text, '/conversations/1/from'), '"robot"');
    assert.equal(at(text, '/conversations/1/value'), '{"x":[1,2]}');
    assert.equal(at(text, '/conversations/1/value/x/1'), '2');
    assert.equal(at(text, '/é😀'), 'null');
  });

  it('gives UTF-16 offsets', () => {
    const t = '{"😀":"é","k":true}';
    assert.deepEqual(jsonPointerRange(t, '/k'), { start: 14, end: 18 });
  });

  it('returns undefined for what is not there', () => {
    assert.equal(jsonPointerRange(text, '/missing'), undefined);
    assert.equal(jsonPointerRange(text, '/conversations/2'), undefined);
    assert.equal(jsonPointerRange(text, '/conversations/x'), undefined);
    assert.equal(jsonPointerRange(text, '/id/0'), undefined);
    assert.equal(jsonPointerRange('', ''), undefined);
    assert.equal(jsonPointerRange('{"a":[]}', '/a/0'), undefined);
  });

  it('matches escaped keys and keys with / and ~', () => {
    const t = '{"a\\u0062":1,"x/y":2,"m~n":3}';
    assert.equal(at(t, '/ab'), '1');
    assert.equal(at(t, '/x~1y'), '2');
    assert.equal(at(t, '/m~0n'), '3');
  });

  it('takes the last of duplicate keys, as JSON.parse does', () => {
    assert.equal(at('{"a":1,"a":"second"}', '/a'), '"second"');
  });

  it('survives invalid JSON', () => {
    for (const t of ['{"a":', '{"a" 1}', '[1,', '{"a":"unterminated', '{,}', '{"a":{"b":']) {
      assert.doesNotThrow(() => jsonPointerRange(t, '/a/b'));
    }
  });
});

describe('findJsonSyntaxError', () => {
  it('accepts valid JSON', () => {
    for (const t of ['{}', '[]', ' {"a":[1,-2.5e+3,true,false,null,"\\u00e9\\n"]} ', '0', '"s"', ...ALPACA_LINES]) {
      assert.equal(findJsonSyntaxError(t), undefined, t);
    }
  });

  it('points where V8 points, on thousands of corrupted real records', () => {
    const next = rng(2024);
    const inserts = ['{', '}', '[', ']', ',', ':', '"', '\\', 'x', '0', '-', '.', 'e', ' ', '\t', '\u0001', 't'];
    let compared = 0;
    for (let round = 0; round < 3000; round++) {
      const base = ALPACA_LINES[round % ALPACA_LINES.length];
      // Corrupt near the structure most of the time, where the interesting errors are.
      const structural = [...base.matchAll(/[{}[\],:"]/g)].map((m) => m.index ?? 0);
      const pos = next() < 0.7 ? structural[Math.floor(next() * structural.length)] : Math.floor(next() * base.length);
      const op = next();
      let text: string;
      if (op < 0.4) text = base.slice(0, pos) + base.slice(pos + 1);
      else if (op < 0.8) text = base.slice(0, pos) + inserts[Math.floor(next() * inserts.length)] + base.slice(pos);
      else text = base.slice(0, pos);
      let error: unknown;
      try {
        JSON.parse(text);
      } catch (e) {
        error = e;
      }
      const found = findJsonSyntaxError(text);
      if (error === undefined) {
        assert.equal(found, undefined, text);
        continue;
      }
      const message = (error as Error).message;
      const v8 = / at position (\d+)/.exec(message);
      const token = /^Unexpected token '(.)'/u.exec(message);
      if (v8) assert.equal(found, Number(v8[1]), `${message}\n${text}`);
      else if (token) assert.equal(text[found ?? -1], token[1], `${message}\n${text}`);
      else if (/end of JSON input/.test(message)) assert.equal(found, text.length, text);
      else assert.fail(`unexpected V8 message: ${message}`);
      compared++;
    }
    assert.ok(compared > 1000, `only ${compared} corruptions were invalid JSON`);
  });

  it('does not overflow on deep nesting', () => {
    assert.equal(findJsonSyntaxError('['.repeat(200_000)), 200_000);
  });
});

describe('describeJsonSyntaxError', () => {
  const describeText = (text: string) => {
    try {
      JSON.parse(text);
    } catch (e) {
      return describeJsonSyntaxError(text, e);
    }
    throw new Error('valid JSON');
  };

  it('reads the position from V8 and words the reason plainly', () => {
    assert.deepEqual(describeText('{"a":1 "b":2}'), { position: 7, reason: "expected ',' or '}' after property value" });
    assert.deepEqual(describeText('{"a":"abc'), { position: 9, reason: 'unterminated string' });
  });

  it('finds the position itself when V8 does not give one', () => {
    assert.deepEqual(describeText('{"a":tru}'), { position: 8, reason: "unexpected token '}'" });
    assert.deepEqual(describeText(`{"instruction":"${'a'.repeat(100)}","output":x}`), { position: 127, reason: "unexpected token 'x'" });
    assert.deepEqual(describeText('{"a":'), { position: 5, reason: 'unexpected end of input' });
  });

  it('accepts the Node 22 message form with line and column', () => {
    const text = '{"a":1 "b":2}';
    const e = new SyntaxError(`Expected ',' or '}' after property value in JSON at position 7 (line 1 column 8)`);
    assert.deepEqual(describeJsonSyntaxError(text, e), { position: 7, reason: "expected ',' or '}' after property value" });
  });

  it('suggests a missing line break when a second record follows', () => {
    assert.match(describeText('{"a":1}{"b":2}').reason, /one record per line/);
  });
});
