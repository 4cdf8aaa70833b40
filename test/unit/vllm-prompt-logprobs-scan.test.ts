/**
 * The direct reader of `prompt_logprobs` answers (promptLogprobsScan.ts) against the JSON path
 * (parsePromptLogprobs): on vLLM-shaped bodies it must give the same numbers bit for bit, and on
 * anything else it must give up (undefined) so that the JSON path answers or names the error.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildCompletionResponse, type ScoredPrompt } from '../../src/core/serve/vllmResponses';
import { parsePromptLogprobs } from '../../src/core/scoring/vllm/protocol';
import { scanPromptLogprobs } from '../../src/core/scoring/vllm/promptLogprobsScan';
import { seededRandom } from '../helpers/random';

const TRICKY = ['"', '\\', '}', '{"1":', '\n', 'é', '😀', ' ', '\u0001', ']'];

function prompt(ids: number[], random: () => number): ScoredPrompt {
  return {
    tokenIds: ids,
    tokenTexts: ids.map((id) => TRICKY[id % TRICKY.length] as string),
    logprobs: ids.slice(1).map(() => -random() * 30 - (random() < 0.1 ? 1e-12 : 0)),
    ranks: ids.slice(1).map((id) => 1 + (id % 5)),
  };
}

function body(sequences: number[][], random: () => number): string {
  return JSON.stringify(
    buildCompletionResponse({ model: 'm', echo: false, maxTokens: 1, logprobs: null, promptLogprobs: 0 }, sequences.map((ids) => prompt(ids, random))),
  );
}

function sequencesOf(random: () => number, count: number): number[][] {
  return Array.from({ length: count }, () => Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * 200_000)));
}

describe('prompt_logprobs read from the text', () => {
  it('gives exactly what the JSON path gives on vLLM-shaped bodies (escapes, unicode, tiny and large values)', () => {
    const random = seededRandom(7);
    for (let round = 0; round < 50; round++) {
      const sequences = sequencesOf(random, 1 + Math.floor(random() * 6));
      const text = body(sequences, random);
      const scanned = scanPromptLogprobs(text, sequences);
      assert.ok(scanned, `round ${round}: the scan gave up on a vLLM-shaped body`);
      const parsed = parsePromptLogprobs(JSON.parse(text), sequences);
      assert.deepEqual(scanned.map((a) => [...a]), parsed.map((a) => [...a]));
    }
  });

  it('reads the choices in any order, and leaves a body that is not compact to the JSON path', () => {
    const random = seededRandom(8);
    const sequences = sequencesOf(random, 4).map((s) => [...s, 1]);
    const o = JSON.parse(body(sequences, random)) as { choices: unknown[] };
    o.choices.reverse();
    const text = JSON.stringify(o);
    assert.deepEqual(scanPromptLogprobs(text, sequences)?.map((a) => [...a]), parsePromptLogprobs(JSON.parse(text), sequences).map((a) => [...a]));
    assert.equal(scanPromptLogprobs(JSON.stringify(o, null, 2), sequences), undefined);
  });

  it('gives up on every body the JSON path refuses or reads differently', () => {
    const random = seededRandom(9);
    const sequences = sequencesOf(random, 3).map((s) => [...s, 5, 6]);
    const good = body(sequences, random);
    const o = (): { choices: Record<string, unknown>[] } => JSON.parse(good) as { choices: Record<string, unknown>[] };
    const variants: [string, string][] = [
      ['another token id', good.replace(`{"${sequences[0]![1]}":`, '{"999999999":')],
      ['a position missing', JSON.stringify({ ...o(), choices: o().choices.map((c, i) => (i === 1 ? { ...c, prompt_logprobs: (c['prompt_logprobs'] as unknown[]).slice(0, -1) } : c)) })],
      ['a choice missing', JSON.stringify({ ...o(), choices: o().choices.slice(1) })],
      ['a NaN from Python', good.replace(/"logprob":-?[0-9.e-]+/, '"logprob":NaN')],
      ['-Infinity from Python', good.replace(/"logprob":-?[0-9.e-]+/, '"logprob":-Infinity')],
      ['a null log-prob', good.replace(/"logprob":-?[0-9.e-]+/, '"logprob":null')],
      ['an error body', JSON.stringify({ object: 'error', message: 'boom', choices: o().choices })],
      ['an error field', JSON.stringify({ error: { message: 'boom' } })],
      ['prompt_logprobs before index', JSON.stringify({ ...o(), choices: o().choices.map((c) => ({ prompt_logprobs: c['prompt_logprobs'], ...c })) })],
      ['a duplicate index', JSON.stringify({ ...o(), choices: o().choices.map((c) => ({ ...c, index: 0 })) })],
      ['truncated', good.slice(0, good.length - 10)],
      ['trailing garbage', `${good}x`],
      ['a leading zero', good.replace(/"logprob":-(\d)/, '"logprob":-0$1')],
      ['a second logprob field', good.replace(/"rank":/, '"logprob":-1,"rank":')],
      ['a second token at a position', good.replace(/\}\},\{/, '},"7":{"logprob":-1}},{')],
    ];
    for (const [what, text] of variants) assert.equal(scanPromptLogprobs(text, sequences), undefined, what);
  });

  it('reads the positions a caller needs exactly, leaves the others NaN, and still checks them', () => {
    const random = seededRandom(10);
    for (let round = 0; round < 20; round++) {
      const sequences = sequencesOf(random, 1 + Math.floor(random() * 6)).map((s) => [...s, 5, 6]);
      const needFrom = sequences.map((s) => 1 + Math.floor(random() * s.length));
      const text = body(sequences, random);
      const scanned = scanPromptLogprobs(Buffer.from(text), sequences, needFrom);
      assert.ok(scanned, `round ${round}: the scan gave up`);
      const parsed = parsePromptLogprobs(JSON.parse(text), sequences);
      sequences.forEach((ids, i) => {
        for (let j = 1; j < ids.length; j++) {
          const want = j >= needFrom[i]! ? parsed[i]![j - 1] : Number.NaN;
          assert.ok(Object.is(scanned[i]![j - 1], want), `round ${round}, sequence ${i}, position ${j}: ${scanned[i]![j - 1]} != ${want}`);
        }
      });
    }
    // What is not needed is still read by the grammar: a bad literal, or one that overflows, gives up.
    const sequences = [[1, 2, 3, 4]];
    const text = body(sequences, random);
    const first = /"logprob":(-?[0-9.e-]+)/;
    assert.equal(scanPromptLogprobs(text.replace(first, '"logprob":-1.'), sequences, [4]), undefined, 'a literal that is not JSON');
    assert.equal(scanPromptLogprobs(text.replace(first, '"logprob":-1e999'), sequences, [4]), undefined, 'a literal that overflows');
    assert.equal(scanPromptLogprobs(text.replace(first, `"logprob":-${'9'.repeat(400)}`), sequences, [4]), undefined, 'a long literal that overflows');
  });
});
