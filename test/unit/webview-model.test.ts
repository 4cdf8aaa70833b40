import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CandidateView, ReflectionView } from '../../src/protocol/reflectionView';
import {
  actionsFor,
  decisionHeadline,
  defaultCandidate,
  diffSides,
  fieldDiffs,
  gateConflict,
  primaryAction,
  scoreRows,
  shortcutFor,
  shownCandidate,
  warningsOf,
  wordDiff,
  type Segment,
} from '../../webview/model';

const text = (segments: Segment[]): string => segments.map((s) => s.text).join('');

function candidate(id: CandidateView['id'], extra: Partial<CandidateView> = {}): CandidateView {
  return { id, instruction: 'Tell a story.', input: '', response: 'Tim had a ball.', losses: {}, fallbacks: [], notes: [], ...extra };
}

function view(candidates: CandidateView[], extra: Partial<ReflectionView> = {}): ReflectionView {
  return {
    uri: 'file:///d/a.jsonl',
    line: 0,
    version: 1,
    originalText: '{}',
    format: 'alpaca',
    mode: 'selective',
    candidates,
    decisions: [],
    kept: 'original',
    changed: false,
    reason: 'kept the original pair',
    usage: { calls: 0, promptTokens: 0, completionTokens: 0, cachedReflections: 0 },
    teacher: { model: 't', endpoint: 'e', promptVersion: 'p' },
    student: { model: 'm', template: 'plain', ifdVariant: 'ppl' },
    ...extra,
  };
}

describe('word diff', () => {
  it('marks changed words and keeps every character of both texts', () => {
    const before = 'Tim had a  red ball.\nThe end.';
    const after = 'Tim had a  big blue ball.\nThe end!';
    const segments = wordDiff(before, after);
    const { before: left, after: right } = diffSides(segments);
    assert.equal(text(left), before, 'the original side is the original text');
    assert.equal(text(right), after, 'the rewrite side is the rewritten text');
    assert.deepEqual(
      segments.filter((s) => s.kind !== 'same').map((s) => `${s.kind}:${s.text}`),
      ['removed:red', 'added:big', 'added:blue ', 'removed:.', 'added:!'],
      'words and punctuation are the units (as diffWordsWithSpace tokenises)',
    );
    assert.ok(segments.every((s, i) => i === 0 || s.kind !== segments[i - 1].kind), 'adjacent runs of one kind are merged');
  });

  it('treats markup in dataset text as plain words', () => {
    const html = 'Say <script>alert(1)</script> and <img src=x onerror=alert(1)>';
    const segments = wordDiff('Say hi', html);
    assert.equal(text(diffSides(segments).after), html);
    assert.ok(segments.some((s) => s.kind === 'added' && s.text.includes('<script>alert(1)</script>')));
  });

  it('handles equal and empty texts', () => {
    assert.deepEqual(wordDiff('same', 'same'), [{ kind: 'same', text: 'same' }]);
    assert.deepEqual(wordDiff('', ''), []);
    assert.deepEqual(wordDiff('', 'new'), [{ kind: 'added', text: 'new' }]);
  });

  it('diffs each field of the pair and says which changed', () => {
    const original = candidate('original', { input: '' });
    const rewrite = candidate('instruction-reflected', { instruction: 'Tell a story about a dog.', response: 'Tim had a ball.' });
    const diffs = fieldDiffs(original, rewrite);
    assert.deepEqual(
      diffs.map((d) => [d.field, d.changed, d.empty]),
      [
        ['instruction', true, false],
        ['input', false, true],
        ['response', false, false],
      ],
    );
    assert.equal(diffs[0].added, 3, '"about a dog"');
    assert.equal(diffs[0].removed, 0);
  });
});

describe('which candidate is shown and what can be done with it', () => {
  const rewrite = candidate('response-reflected', { response: 'Tim had a big ball.', line: '{"x":1}' });

  it('shows the kept rewrite, else the last rewrite the teacher delivered, else the original', () => {
    const instruction = candidate('instruction-reflected', { instruction: 'New.', line: '{"y":1}' });
    assert.equal(defaultCandidate(view([candidate('original'), instruction, rewrite], { kept: 'instruction-reflected', changed: true })), 'instruction-reflected');
    assert.equal(defaultCandidate(view([candidate('original'), instruction, rewrite])), 'response-reflected');
    assert.equal(defaultCandidate(view([candidate('original'), candidate('response-reflected', { teacherError: 'x' })])), 'original');
    assert.equal(shownCandidate(view([candidate('original'), instruction, rewrite]), 'instruction-reflected').id, 'instruction-reflected');
    assert.equal(shownCandidate(view([candidate('original'), rewrite]), 'instruction-reflected').id, 'response-reflected', 'a pick that does not exist falls back');
  });

  it('enables Accept for a rewrite, the one-side accepts only when both sides changed', () => {
    const one = actionsFor(rewrite);
    assert.equal(one.accept.enabled, true);
    assert.equal(one.acceptInstruction.enabled, false);
    assert.match(one.acceptInstruction.why ?? '', /Only one side/);
    const both = actionsFor({ ...rewrite, instructionOnlyLine: 'a', responseOnlyLine: 'b' });
    assert.equal(both.acceptInstruction.enabled && both.acceptResponse.enabled, true);
    assert.equal(actionsFor(candidate('original')).accept.enabled, false);
    const failed = actionsFor(candidate('response-reflected', { teacherError: '429 Too Many Requests' }));
    assert.equal(failed.accept.enabled, false);
    assert.match(failed.accept.why ?? '', /429/);
  });

  it('shows fallbacks and errors as warnings, and the decision in one line', () => {
    const fellBack = candidate('response-reflected', { fallbacks: [{ field: 'response', reason: 'the output had no answer section' }], ineligible: 'no usable rewrite' });
    const v = view([candidate('original'), fellBack], { error: 'response reflection: timeout' });
    const warnings = warningsOf(v, fellBack);
    assert.ok(warnings.some((w) => /response was unusable \(the output had no answer section\); the original response was kept/.test(w)));
    assert.ok(warnings.some((w) => /timeout/.test(w)));
    assert.equal(decisionHeadline(view([candidate('original')], { kept: null, changed: true })).tone, 'dropped');
    assert.equal(decisionHeadline(view([candidate('original'), rewrite], { kept: 'response-reflected', changed: true })).text, 'The student chose the response rewrite');
  });

  it('compares scores by the stage rules: higher IFD, lower r-IFD', () => {
    const a = candidate('original', { scores: { ifd: { value: 0.5 }, rifd: { value: 0.8 } }, losses: { yGivenX: { mean: 2, n: 10 } } });
    const b = candidate('response-reflected', { scores: { ifd: { value: 0.6 }, rifd: { value: 0.9 } }, losses: { yGivenX: { mean: null, n: 0 } } });
    const rows = scoreRows(a, b);
    assert.deepEqual(rows.slice(0, 2).map((r) => [r.label, r.before, r.after, r.better]), [
      ['IFD', '0.5000', '0.6000', true],
      ['r-IFD', '0.8000', '0.9000', false],
    ]);
    assert.equal(scoreRows(a, b, ['rifd'])[0].better, undefined, 'IFD decided nothing in a response-only reflection');
    assert.equal(scoreRows(a, b, ['rifd'])[1].better, false);
    assert.equal(rows[2].before, '2.0000 (10 tok)');
    assert.equal(rows[2].after, '—');
    const none = scoreRows(a, candidate('response-reflected', { scores: { ifd: { value: null, reason: 'empty response' }, rifd: { value: 0.1 } } }));
    assert.equal(none[0].after, '—');
    assert.equal(none[0].reason, 'empty response');
  });
});

describe('keyboard shortcuts', () => {
  const key = (code: string, mods: Partial<{ altKey: boolean; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean }> = {}) => ({ altKey: true, ctrlKey: false, metaKey: false, shiftKey: false, code, ...mods });

  it('maps Alt+letter by physical key', () => {
    assert.equal(shortcutFor(key('KeyA')), 'accept');
    assert.equal(shortcutFor(key('KeyR')), 'reject');
    assert.equal(shortcutFor(key('KeyN')), 'next');
    assert.equal(shortcutFor(key('KeyP')), 'previous');
    assert.equal(shortcutFor(key('KeyI')), 'acceptInstruction');
    assert.equal(shortcutFor(key('KeyS')), 'acceptResponse');
    assert.equal(shortcutFor(key('KeyD')), 'openDiff');
  });

  it('ignores other modifiers and plain letters', () => {
    assert.equal(shortcutFor(key('KeyA', { altKey: false })), undefined);
    assert.equal(shortcutFor(key('KeyA', { ctrlKey: true })), undefined);
    assert.equal(shortcutFor(key('KeyA', { shiftKey: true })), undefined);
    assert.equal(shortcutFor(key('KeyZ')), undefined);
  });
});

describe('the selection gate in the reflection view', () => {
  const scored = (id: CandidateView['id'], ifd: number, rifd: number): CandidateView => candidate(id, { scores: { ifd: { value: ifd }, rifd: { value: rifd } } });

  it('an IFD rise from 0.96 to 1.0011 is higher but dropped by the gate, and the view says what the filter would do', () => {
    const original = scored('original', 0.96, 0.5);
    const rewrite = scored('instruction-reflected', 1.0011, 0.5);
    const v = view([original, rewrite], { kept: 'instruction-reflected', changed: true });
    const rows = scoreRows(original, rewrite, ['ifd']);
    assert.equal(rows[0].better, true, 'higher, by the pairwise rule');
    assert.equal(rows[0].failsGate, true, 'but at or above 1');
    assert.equal(
      gateConflict(v),
      "The instruction rewrite the student chose has IFD 1.0011 ≥ 1: the released selection's gate (IFD < 1 and r-IFD < 1) would drop this record, and so would the default filter (IFD < 1). The original passes (IFD < 1 and r-IFD < 1): Reject keeps it.",
    );
    assert.equal(primaryAction(v), 'reject', 'Accept is not the highlighted button for a choice the filter drops');
  });

  it('Accept is highlighted only when the student chose a rewrite that passes the gate', () => {
    const original = scored('original', 0.6, 0.5);
    const rewrite = scored('response-reflected', 0.7, 0.4);
    assert.equal(primaryAction(view([original, rewrite], { kept: 'response-reflected', changed: true })), 'accept');
    assert.equal(gateConflict(view([original, rewrite], { kept: 'response-reflected', changed: true })), undefined);
    assert.equal(primaryAction(view([original, rewrite], { kept: 'original' })), 'reject', 'the student kept the original');
    assert.equal(primaryAction(view([original], { kept: null, changed: true })), 'reject', 'the gate dropped it');
    // With the gate applied the view shows its verdict instead of a conflict.
    assert.equal(gateConflict(view([scored('original', 1.2, 0.5)], { kept: 'original', gate: { passed: false, reason: 'IFD ≥ 1' } })), undefined);
    // r-IFD alone at or above 1: the gate drops it, the default filter keeps it.
    assert.match(gateConflict(view([scored('original', 0.5, 1.02)], { kept: 'original' }))!, /r-IFD 1\.0200 ≥ 1: .* \(the default filter, IFD < 1 only, keeps it\)\.$/);
  });
});
