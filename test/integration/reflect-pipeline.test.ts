/**
 * The selective pipeline end to end in one process: the real `openai` client against the scripted
 * teacher over HTTP, and the REAL bundled student model (TinyStories 260K, template `plain`)
 * deciding. TinyStories texts make the decisions real: a story that matches its instruction makes
 * the instruction easier to predict (lower r-IFD) than an unrelated story.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TrainingPair } from '../../src/core/dataset/types';
import { METHOD_VERSION } from '../../src/core/metrics';
import { ReflectionCache } from '../../src/core/reflect/cache';
import { ReflectionSession, type ReflectionSessionOptions } from '../../src/core/reflect/reflection';
import { Reflector } from '../../src/core/reflect/selective';
import { TeacherClient, TeacherError } from '../../src/core/reflect/teacher';
import type { Candidate, RecordReflection } from '../../src/core/reflect/types';
import { LocalScorer } from '../../src/core/scoring/local';
import { toRecordScore } from '../../src/core/scoring/recordScore';
import { scoreRecords, type RecordLossResult } from '../../src/core/scoring/scoreRecords';
import { ScoreStore } from '../../src/core/store';
import { FakeTeacher, reflectionReply, type TeacherRequest } from '../helpers/fake-teacher';
import { bundledModel, examplesDir, tempDir } from '../helpers/paths';

const KEY = 'sk-pipeline-secret-7777';
const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as { instruction: string; output: string });
const pairOf = (i: number): TrainingPair => ({ instruction: stories[i - 1].instruction, input: '', response: stories[i - 1].output, history: [] });
/**
 * Line 17: Sue and Ben's instruction with Mia's story (its own story, line 5, lowers r-IFD from 2.24
 * to 0.93, with IFD 0.97); line 14: Tim's instruction with the fish story (Tim's story, line 2,
 * lowers r-IFD from 1.79 to 1.55, still >= 1); line 3: Kitty's matched pair.
 *
 * These pairs were chosen on the student's correct log-probs. The Lily pair (line 13) used before
 * only "worked" while the local engine's log-probs were wrong: with correct ones, Lily's own story
 * makes her instruction harder for this 260K-parameter model to guess (r-IFD 1.84 vs 1.51).
 */
const sueMismatched = pairOf(17);
const timMismatched = pairOf(14);
const kittyMatched = pairOf(3);

type Fields = { critique: string; instruction?: string; response: string };
/** What the scripted teacher answers, by reflection kind and the instruction it was shown. */
const answers = new Map<string, Fields>([
  [`response:${sueMismatched.instruction}`, { critique: 'The story is about a seed, not about Sue and Ben.', response: stories[4].output }],
  [`response:${kittyMatched.instruction}`, { critique: 'Could be longer.', response: stories[7].output }],
  [`instruction:${sueMismatched.instruction}`, { critique: 'Too plain.', instruction: stories[1].instruction, response: stories[13].output }],
  [`response:${stories[1].instruction}`, { critique: 'Off topic.', response: stories[1].output }],
]);

function scripted(request: TeacherRequest): ReturnType<typeof reflectionReply> {
  const fields = answers.get(`${request.kind}:${request.shown.instruction}`);
  if (!fields) return { status: 500, body: { error: { message: `no scripted answer for ${request.kind}:${request.shown.instruction}` } } };
  return reflectionReply(request, fields);
}

let scorer: LocalScorer;
let fake: FakeTeacher;
before(async () => {
  scorer = await LocalScorer.load({ modelPath: bundledModel, threads: 1 });
  fake = await FakeTeacher.start(scripted, { apiKey: KEY });
});
after(async () => {
  await fake.close();
  await scorer.close();
});

function reflector(options: Partial<ReflectionSessionOptions> & { url?: string; releasedGate?: boolean; retries?: number } = {}): Reflector {
  const teacher = new TeacherClient({ url: options.url ?? fake.url, model: 'fake-teacher', apiKey: KEY, retries: options.retries ?? 1, backoffBaseMs: 10, timeoutMs: 5000 });
  const session = new ReflectionSession({ teacher, ...options });
  return new Reflector({ session, student: { scorer, store: ScoreStore.memory(), config: { template: 'plain', boundary: 'clean', ifdVariant: 'ppl' } }, releasedGate: options.releasedGate });
}

/** IFD and r-IFD of a pair through a separate scoring run (the definitions `sift score` uses). */
async function independentScores(pair: TrainingPair): Promise<{ ifd: number | null; rifd: number | null }> {
  let result: RecordLossResult | undefined;
  await scoreRecords([{ id: 0, pair }], {
    scorer,
    store: ScoreStore.memory(),
    config: { metrics: ['ifd', 'rifd'], template: 'plain', boundary: 'clean', ifdVariant: 'ppl' },
    methodVersion: METHOD_VERSION,
    onResult: (r) => (result = r),
  });
  const score = toRecordScore(result!, ['ifd', 'rifd'], { ifdVariant: 'ppl', dsRule: 'paper' });
  return { ifd: score.metrics.ifd!.value, rifd: score.metrics.rifd!.value };
}

const candidate = (result: RecordReflection, id: Candidate['id']): Candidate => {
  const found = result.candidates.find((c) => c.id === id);
  assert.ok(found, `no ${id} candidate`);
  return found;
};

/** Every decision must be exactly what its scores say (higher IFD / lower r-IFD wins; ties keep the incumbent). */
function assertDecisionsFollowScores(result: RecordReflection): void {
  for (const d of result.decisions) {
    const [a, b] = d.between.map((id) => result.candidates.find((c) => c.id === id));
    if (!b || !b.scores || b.ineligible || !a?.scores) {
      assert.equal(d.chosen, d.between[0]);
      continue;
    }
    const [x, y] = [a.scores[d.metric].value, b.scores[d.metric].value];
    if (x === null || y === null) {
      assert.equal(d.chosen, d.between[0], 'a candidate without a value never wins');
      continue;
    }
    const challengerWins = d.rule === 'higher' ? y > x : y < x;
    assert.equal(d.chosen, challengerWins ? d.between[1] : d.between[0], `${d.stage}: ${x} vs ${y}`);
  }
}

test('response stage: a story that matches its instruction lowers r-IFD and is kept; the scores are the pipeline definitions', async () => {
  const result = await reflector().reflectRecord(sueMismatched, 'response');
  const original = candidate(result, 'original');
  const rewritten = candidate(result, 'response-reflected');
  assert.equal(rewritten.response, stories[4].output);
  assert.equal(rewritten.instruction, sueMismatched.instruction);
  assert.equal(rewritten.critique, 'The story is about a seed, not about Sue and Ben.');
  assert.deepEqual(rewritten.fallbacks, []);
  assert.equal(rewritten.teacher?.structured, true);
  assertDecisionsFollowScores(result);
  assert.ok(rewritten.scores!.rifd.value! < original.scores!.rifd.value!, 'the matched story makes the instruction easier to predict');
  assert.equal(result.kept, 'response-reflected');
  assert.equal(result.changed, true);
  assert.equal(result.keptPair?.response, stories[4].output);
  assert.match(result.decisions[0].reason, /^r-IFD [\d.]+ < [\d.]+/);
  for (const c of [original, rewritten]) {
    const expected = await independentScores({ instruction: c.instruction, input: c.input, response: c.response, history: [] });
    assert.equal(c.scores!.ifd.value, expected.ifd);
    assert.equal(c.scores!.rifd.value, expected.rifd);
  }
  assert.equal(result.usage.calls, 1);
  assert.ok(result.usage.promptTokens > 0);
  assert.equal(result.error, undefined);
});

test('response stage: an unrelated story does not win; the original is kept with the reason', async () => {
  const result = await reflector().reflectRecord(kittyMatched, 'response');
  assertDecisionsFollowScores(result);
  assert.equal(result.kept, 'original');
  assert.equal(result.changed, false);
  assert.match(result.reason, /kept the original pair \(response stage: r-IFD [\d.]+ > [\d.]+: the new response does not make the instruction easier/);
});

test('selective: both stages run, each decided by its own metric, the response stage on the pair stage 1 kept', async () => {
  const before = fake.requests.length;
  const result = await reflector().reflectRecord(sueMismatched, 'selective');
  assert.deepEqual(result.decisions.map((d) => [d.stage, d.metric, d.rule]), [['instruction', 'ifd', 'higher'], ['response', 'rifd', 'lower']]);
  assertDecisionsFollowScores(result);
  const stage1 = result.decisions[0];
  const kept1 = stage1.chosen === 'instruction-reflected' ? stories[1].instruction : sueMismatched.instruction;
  const asked = fake.requests.slice(before);
  assert.deepEqual(asked.map((r) => r.kind), ['instruction', 'response']);
  assert.equal(asked[1].shown.instruction, kept1, 'the response stage reflects the pair stage 1 kept');
  const q = candidate(result, 'instruction-reflected');
  assert.equal(q.input, '');
  assert.equal(result.usage.calls, 2);
  assert.equal(result.keptPair?.instruction, result.kept === 'original' ? sueMismatched.instruction : kept1);
});

test('an endpoint that rejects response_format (400): delimited sections for the rest of the session', async () => {
  const plain = await FakeTeacher.start(scripted, { rejectResponseFormat: true, apiKey: KEY });
  try {
    const r = reflector({ url: plain.url });
    const first = await r.reflectRecord(sueMismatched, 'response');
    assert.equal(first.kept, 'response-reflected');
    const rewritten = candidate(first, 'response-reflected');
    assert.equal(rewritten.teacher?.structured, false);
    assert.ok(rewritten.notes.some((n) => /refused the request with structured output/.test(n)));
    assert.equal(r.session.structuredSupport, 'no');
    await r.reflectRecord(kittyMatched, 'response');
    assert.deepEqual(plain.requests.map((q) => q.structured), [true, false, false]);
  } finally {
    await plain.close();
  }
});

test('structured: false asks for delimited sections from the start', async () => {
  const before = fake.requests.length;
  const result = await reflector({ structured: false }).reflectRecord(sueMismatched, 'response');
  assert.equal(fake.requests[before].structured, false);
  assert.equal(result.kept, 'response-reflected');
});

test('a missing section is asked for once more; the second output is used', async () => {
  fake.script({ content: '<<<CRITIQUE>>>\nShort.\n<<<END>>>' });
  const before = fake.requests.length;
  const result = await reflector({ structured: false }).reflectRecord(sueMismatched, 'response');
  assert.equal(fake.requests.length - before, 2);
  const rewritten = candidate(result, 'response-reflected');
  assert.deepEqual(rewritten.fallbacks, []);
  assert.equal(rewritten.teacher?.calls, 2);
  assert.ok(rewritten.notes.some((n) => /first output was unusable \(the section <<<BETTER ANSWER>>> is missing\); asked again/.test(n)));
  assert.equal(result.kept, 'response-reflected');
});

test('still unusable after the retry: a visible fallback to the original text, never chosen, never an empty pair', async () => {
  fake.script({ content: '{"critique": "ok", "response": "N/A"}' }, { content: '{"critique": "ok", "respo' , finishReason: 'length' });
  const result = await reflector().reflectRecord(sueMismatched, 'response');
  const rewritten = candidate(result, 'response-reflected');
  assert.equal(rewritten.fallbacks.length, 1);
  assert.equal(rewritten.fallbacks[0].fallback, true);
  assert.equal(rewritten.fallbacks[0].field, 'response');
  assert.match(rewritten.fallbacks[0].reason, /not valid JSON \(cut off at the token limit\)/);
  assert.ok(rewritten.notes.some((n) => /first output was unusable \(the better answer says "N\/A"\)/.test(n)));
  assert.equal(rewritten.response, sueMismatched.response, 'the original text, not an empty string');
  assert.match(rewritten.ineligible ?? '', /no usable rewrite/);
  assert.equal(result.kept, 'original');
  assert.match(result.decisions[0].reason, /not eligible/);
});

test('instruction stage: a partial rewrite (new instruction, unusable answer) is not eligible', async () => {
  fake.script(
    { content: JSON.stringify({ critique: 'c', instruction: 'Tell a story about a red kite.', response: '' }) },
    { content: JSON.stringify({ critique: 'c', instruction: 'Tell a story about a red kite.', response: 'N/A' }) },
  );
  const result = await reflector().reflectRecord(sueMismatched, 'instruction');
  const q = candidate(result, 'instruction-reflected');
  assert.equal(q.instruction, 'Tell a story about a red kite.');
  assert.equal(q.response, sueMismatched.response);
  assert.equal(q.fallbacks[0].field, 'response');
  assert.match(q.ineligible ?? '', /partial rewrite: the response fell back to the original/);
  assert.equal(result.kept, 'original');
});

test('an unscorable rewrite (its prompt fills the student context) is never chosen, and says why', async () => {
  const huge = `${'Lily has a big red ball and a small blue cup. '.repeat(60)}Write a story.`;
  fake.script({ content: JSON.stringify({ critique: 'c', instruction: huge, response: 'Lily played.' }) });
  const result = await reflector().reflectRecord(sueMismatched, 'instruction');
  const q = candidate(result, 'instruction-reflected');
  assert.equal(q.scores!.ifd.value, null);
  assert.equal(result.kept, 'original');
  assert.match(result.decisions[0].reason, /has no IFD \(.*the prompt alone is \d+ tokens \(with BOS\); the model context is \d+, so no response token fits\), so it cannot win/);
});

test('an unscorable original: the teacher is not called for a comparison that cannot happen', async () => {
  const before = fake.requests.length;
  const long: TrainingPair = { instruction: `${'Tim has a dog. '.repeat(200)}`, input: '', response: 'Tim ran.', history: [] };
  const result = await reflector().reflectRecord(long, 'instruction');
  assert.equal(fake.requests.length, before);
  assert.equal(result.kept, 'original');
  assert.match(result.decisions[0].reason, /has no IFD .*the teacher was not asked/);
});

test('a teacher that keeps failing: the record fails visibly, the original is kept, the next stage still runs', async () => {
  fake.script({ status: 500 }, { status: 503 });
  const result = await reflector({ retries: 1 }).reflectRecord(sueMismatched, 'selective');
  const q = candidate(result, 'instruction-reflected');
  assert.match(q.teacherError ?? '', /answered 503.*gave up after 2 attempts/);
  assert.equal(q.scores, null);
  assert.match(result.decisions[0].reason, /no rewrite: the teacher call failed/);
  assert.equal(result.decisions[1].stage, 'response');
  assert.match(result.error ?? '', /instruction reflection:/);
});

test('resume: finished reflections come from the cache (no call, same result); the cache never holds the key', async () => {
  const dir = tempDir();
  const path = join(dir, '.sift', 'sift.db');
  const first = await ReflectionCache.open(path);
  const a = await reflector({ cache: first }).reflectRecord(sueMismatched, 'selective');
  await first.close();
  const before = fake.requests.length;
  const second = await ReflectionCache.open(path);
  const r = reflector({ cache: second });
  // An upper bound: stage 2 counts as cached only when the reflections of both pairs stage 1 could keep are.
  const estimate = r.estimate([sueMismatched], 'selective');
  assert.equal(estimate.cachedCalls + estimate.calls, 2);
  assert.ok(estimate.cachedCalls >= 1);
  const b = await r.reflectRecord(sueMismatched, 'selective');
  assert.equal(fake.requests.length, before, 'no teacher call on resume');
  assert.equal(b.usage.calls, 0);
  assert.equal(b.usage.cachedReflections, 2);
  assert.deepEqual(b.decisions, a.decisions);
  assert.deepEqual(b.keptPair, a.keptPair);
  assert.doesNotMatch(readFileSync(path, 'utf8'), new RegExp(KEY));
});

test('the released gate keeps only a chosen rewrite with IFD < 1 and r-IFD < 1', async () => {
  const r = reflector({ releasedGate: true });
  const sue = await r.reflectRecord(sueMismatched, 'response');
  const tim = await r.reflectRecord(timMismatched, 'response');
  const check = (result: RecordReflection): void => {
    const kept = candidate(result, 'response-reflected');
    const passes = result.decisions[0].chosen === 'response-reflected' && kept.scores!.ifd.value! < 1 && kept.scores!.rifd.value! < 1;
    assert.equal(result.gate?.passed, passes);
    assert.equal(result.kept, passes ? 'response-reflected' : null);
  };
  for (const result of [sue, tim]) check(result);
  assert.equal(sue.gate?.passed, true, 'the matched Sue and Ben story has IFD < 1 and r-IFD < 1');
  assert.deepEqual(sue.keptPair?.response, stories[4].output);
  assert.equal(tim.decisions[0].chosen, 'response-reflected', 'Tim\'s own story lowers r-IFD');
  assert.equal(tim.kept, null, 'the matched Tim story still has r-IFD >= 1');
  assert.match(tim.reason, /dropped by the released selection rule: r-IFD [\d.]+ >= 1/);
});

test('batch: progress for every record, results by id, usage summed', async () => {
  const items = [sueMismatched, kittyMatched, sueMismatched].map((pair, i) => ({ id: 100 + i, pair }));
  const seen = new Map<number, RecordReflection>();
  const progress: number[] = [];
  const summary = await reflector().reflectBatch(items, 'response', { concurrency: 2, onRecord: (id, r) => seen.set(id, r), onProgress: (n) => progress.push(n) });
  assert.deepEqual([...seen.keys()].sort(), [100, 101, 102]);
  assert.deepEqual(progress, [1, 2, 3]);
  assert.equal(summary.records, 3);
  assert.equal(summary.changed, 2);
  assert.equal(summary.usage.calls, 3);
  assert.equal(seen.get(100)?.kept, 'response-reflected');
  assert.equal(seen.get(101)?.kept, 'original');
});

test('batch: cancel stops it; finished reflections are cached, so a re-run resumes with fewer calls', async () => {
  const cache = ReflectionCache.memory();
  const slow = await FakeTeacher.start(scripted, { apiKey: KEY, latencyMs: 150 });
  try {
    const r = reflector({ url: slow.url, cache });
    const controller = new AbortController();
    const pairs = [sueMismatched, kittyMatched, pairOf(14), pairOf(16)];
    const done: number[] = [];
    const run = r.reflectBatch(pairs.map((pair, id) => ({ id, pair })), 'response', {
      concurrency: 1,
      signal: controller.signal,
      onRecord: (id) => {
        done.push(id);
        controller.abort();
      },
    });
    await assert.rejects(run, (e: Error) => e.name === 'AbortError');
    assert.deepEqual(done, [0]);
    assert.equal(cache.size, 1);
    const estimate = r.estimate(pairs, 'response');
    assert.equal(estimate.cachedCalls, 1);
    assert.equal(estimate.calls, 3);
  } finally {
    await slow.close();
  }
});

test('batch: a fatal teacher error (wrong key) stops the batch with that error', async () => {
  const teacher = new TeacherClient({ url: fake.url, model: 'fake-teacher', apiKey: 'sk-wrong-key', retries: 0 });
  const r = new Reflector({ session: new ReflectionSession({ teacher }), student: { scorer, store: ScoreStore.memory(), config: { template: 'plain', boundary: 'clean', ifdVariant: 'ppl' } } });
  const error = await r.reflectBatch([0, 1, 2, 3, 4].map((id) => ({ id, pair: sueMismatched })), 'response', { concurrency: 1 }).catch((e: unknown) => e);
  assert.ok(error instanceof TeacherError);
  assert.equal(error.status, 401);
  assert.doesNotMatch(error.message, /sk-wrong-key/);
});

test('estimate: one call per stage and record before anything runs', () => {
  const r = reflector();
  const pairs = [sueMismatched, kittyMatched, { ...kittyMatched, input: 'with an input' }];
  const selective = r.estimate(pairs, 'selective');
  assert.equal(selective.records, 3);
  assert.equal(selective.calls, 6);
  assert.equal(selective.cachedCalls, 0);
  assert.equal(selective.totalTokens, selective.promptTokens + selective.completionTokens);
  assert.equal(r.estimate(pairs, 'response').calls, 3);
  assert.ok(r.estimate(pairs, 'instruction').promptTokens > 0);
});
