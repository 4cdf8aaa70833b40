import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { AnswerReading } from '../../src/core/reasoning/answers';
import { checkCandidate, formatCandidate, type CandidateRecord } from '../../src/core/reasoning/candidate';
import { voteQuestions } from '../../src/core/reasoning/questionVotes';
import { readCandidates } from '../../src/core/reasoning/readCandidates';
import { repoRoot, tempDir } from '../helpers/paths';

const SAMPLE = join(repoRoot, 'test', 'fixtures', 'gsm8k-solutions-sample.jsonl');
const IWSI_DIFFERS = join(repoRoot, 'test', 'fixtures', 'gsm8k-solutions-iwsi-differs.jsonl');

const full: CandidateRecord = {
  question_id: 'q7',
  question: 'What is 2 + 3?',
  candidate: '2 + 3 = 5. The answer is 5.',
  answer: '5',
  gold: '#### 5',
  sample_index: 2,
  sampling: { temperature: 1.1, top_p: 1, seed: 42, max_tokens: 400, k: 15, prompt: 'Q: What is 2 + 3?\nA:' },
  model: 'stories260K.gguf',
};

describe('CANDIDATES lines', () => {
  it('round-trips through formatCandidate and checkCandidate; extra fields are allowed', () => {
    assert.deepEqual(checkCandidate(JSON.parse(formatCandidate(full))), full);
    assert.deepEqual(checkCandidate({ ...full, logprob: -3.2 }), full);
    const minimal = { question_id: 'a', question: 'q', candidate: 'c', answer: null, sample_index: 0 };
    assert.deepEqual(checkCandidate(minimal), minimal);
  });

  it('names the field and what it holds when a line is wrong', () => {
    assert.throws(() => checkCandidate({ ...full, question_id: undefined }), /"question_id" must be a string \(got nothing: the field is missing\)/);
    assert.throws(() => checkCandidate({ ...full, answer: 5 }), /"answer" must be a string or null \(got number 5\)/);
    assert.throws(() => checkCandidate({ ...full, sample_index: -1 }), /"sample_index" must be an integer >= 0/);
    assert.throws(() => checkCandidate({ ...full, sampling: { ...full.sampling, seed: 1.5 } }), /"sampling.seed" must be an integer or null/);
    assert.throws(() => checkCandidate({ ...full, sampling: { ...full.sampling, top_p: '1' } }), /"sampling.top_p" must be a number/);
    assert.throws(() => checkCandidate([full]), /must be a JSON object \(got an array\)/);
  });

  it('readCandidates stops at a bad line with the file and line number', async () => {
    const dir = tempDir();
    const path = join(dir, 'c.jsonl');
    writeFileSync(path, [formatCandidate(full), '', JSON.stringify({ ...full, sample_index: 'x' })].join('\n') + '\n');
    await assert.rejects(readCandidates(path), (error: Error) => error.message === `${path}:3: "sample_index" must be an integer >= 0 (got a string "x")`);
    writeFileSync(path, formatCandidate(full) + '\n{"question_id": \n');
    await assert.rejects(readCandidates(path), new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: invalid JSON`));
    writeFileSync(path, '{"instruction": "x", "output": "y"}\n');
    await assert.rejects(readCandidates(path), /:1: not a candidate/);
  });

  it('keeps a CANDIDATES line\'s own text for byte-identical output', async () => {
    const dir = tempDir();
    const path = join(dir, 'c.jsonl');
    const line = JSON.stringify({ ...full, extra: { kept: true } });
    writeFileSync(path, `${line}\r\n`);
    const { input, candidates } = await readCandidates(path);
    assert.equal(input, 'candidates');
    assert.equal(candidates[0].sourceText, line);
  });
});

describe('question/answer lines as candidates', () => {
  it('groups lines by question text: question_id = first line, sample_index = position, source = model', async () => {
    const dir = tempDir();
    const path = join(dir, 'qa.jsonl');
    const lines = [
      { question: 'A?', answer: 'The answer is 1.', source: 'gold' },
      { question: 'B?', answer: 'The answer is 2.', is_correct: true },
      { question: 'A?', answer: 'The answer is 3.' },
    ].map((l) => JSON.stringify(l));
    writeFileSync(path, lines.join('\n') + '\n');
    const { input, candidates } = await readCandidates(path);
    assert.equal(input, 'qa');
    assert.deepEqual(candidates.map((c) => [c.record.question_id, c.record.sample_index, c.record.model ?? null, c.record.is_correct ?? null, c.sourceText]), [
      ['1', 0, 'gold', null, lines[0]],
      ['2', 0, null, true, lines[1]],
      ['1', 1, null, null, lines[2]],
    ]);
    writeFileSync(path, lines[0] + '\n{"question": "C?", "answer": 4}\n');
    await assert.rejects(readCandidates(path), /:2: "answer" \(the solution\) must be a string/);
  });
});

describe('grade-school-math model solutions as candidates', () => {
  it('one candidate per model solution: question_id = line, sample_index = position, model = field', async () => {
    const { input, candidates } = await readCandidates(SAMPLE);
    assert.equal(input, 'gsm8k-solutions');
    assert.equal(candidates.length, 36);
    assert.deepEqual(candidates.slice(0, 4).map((c) => [c.record.question_id, c.record.sample_index, c.record.model]), [
      ['1', 0, '6b_finetuning'],
      ['1', 1, '6b_verification'],
      ['1', 2, '175b_finetuning'],
      ['1', 3, '175b_verification'],
    ]);
    assert.match(candidates[0].record.gold!, /A: 18$/);
    assert.equal(candidates[0].sourceText, undefined);
  });

  /** Candidates whose split against gold differs from the file's is_correct, as "question/model". */
  async function differences(path: string, reading: AnswerReading): Promise<{ differ: string[]; agree: number; total: number }> {
    const { candidates } = await readCandidates(path);
    const results = voteQuestions(candidates, { reading });
    const differ: string[] = [];
    let agree = 0;
    for (const r of results) {
      assert.ok(r.correct, `question ${r.questionId} has a readable gold answer`);
      r.candidates.forEach((c, i) => {
        if (r.correct![i] === c.record.is_correct) agree++;
        else differ.push(`${r.questionId}/${c.record.model!}`);
      });
    }
    return { differ, agree, total: candidates.length };
  }

  it("Sift's numeric reading agrees with every is_correct label", async () => {
    assert.deepEqual(await differences(SAMPLE, { format: 'numeric' }), { differ: [], agree: 36, total: 36 });
    assert.deepEqual(await differences(IWSI_DIFFERS, { format: 'numeric' }), { differ: [], agree: 16, total: 16 });
  });

  it("IWSI's reading differs exactly where its rule reads another number than the final answer", async () => {
    // Sample line 5 (source line 42), 175b_finetuning, "A: -200": the sign is dropped, 200 = gold 200.
    // Sample line 9 (source line 258), both verification solutions end "= 5600 pounds.\nA: 5": with no
    // "the answer is", IWSI reads after the last '=' anywhere, so 5600 (= gold) instead of 5.
    assert.deepEqual(await differences(SAMPLE, { format: 'numeric', compat: true }), {
      differ: ['5/175b_finetuning', '9/6b_verification', '9/175b_verification'],
      agree: 33,
      total: 36,
    });
    // 1 (source 185): "A: 25" read as 0, from "= 0.0025" truncated; 2 (source 490): "A: -10" read as 10,
    // gold -10 keeps its sign in IWSI's gold reading; 3 (source 519): "A: 32.5" truncated to 32 = gold;
    // 4 (source 1226): "3 = 7\nA: 3" read as 7 after the last '='.
    assert.deepEqual(await differences(IWSI_DIFFERS, { format: 'numeric', compat: true }), {
      differ: ['1/6b_verification', '2/175b_finetuning', '3/6b_finetuning', '4/175b_finetuning'],
      agree: 12,
      total: 16,
    });
  });
});
