import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHostMessage, isReflectionView, isWebviewMessage, panelState, type PanelState, type ReflectionView } from '../../src/protocol/reflectionView';

const record: ReflectionView = {
  uri: 'file:///d/a.jsonl',
  line: 2,
  version: 3,
  originalText: '{"instruction":"a","output":"b"}',
  format: 'alpaca',
  mode: 'response',
  candidates: [
    { id: 'original', instruction: 'a', input: '', response: 'b', losses: {}, fallbacks: [], notes: [] },
    { id: 'response-reflected', instruction: 'a', input: '', response: 'c', losses: {}, fallbacks: [], notes: [], line: '{"instruction":"a","output":"c"}' },
  ],
  decisions: [{ stage: 'response', metric: 'rifd', rule: 'lower', between: ['original', 'response-reflected'], chosen: 'response-reflected', reason: 'r-IFD 0.5 < 0.7' }],
  kept: 'response-reflected',
  changed: true,
  reason: 'kept the response-reflected pair',
  usage: { calls: 1, promptTokens: 1, completionTokens: 1, cachedReflections: 0 },
  teacher: { model: 't', endpoint: 'e', promptVersion: 'p' },
  student: { model: 'm', template: 'plain', ifdVariant: 'ppl' },
};

describe('messages from the webview (checked by the host)', () => {
  it('accepts the protocol', () => {
    for (const message of [
      { type: 'ready' },
      { type: 'navigate', index: 3 },
      { type: 'reject', index: 0 },
      { type: 'accept', index: 1, candidate: 'response-reflected', fields: 'both' },
      { type: 'accept', index: 1, candidate: 'instruction-reflected', fields: 'instruction' },
      { type: 'openDiff', index: 0, candidate: 'instruction-reflected' },
    ]) {
      assert.ok(isWebviewMessage(message), JSON.stringify(message));
    }
  });

  it('rejects anything else', () => {
    for (const message of [
      null,
      'ready',
      [],
      { type: 'eval', code: 'x' },
      { type: 'accept', index: -1, candidate: 'response-reflected', fields: 'both' },
      { type: 'accept', index: 1.5, candidate: 'response-reflected', fields: 'both' },
      { type: 'accept', index: '1', candidate: 'response-reflected', fields: 'both' },
      { type: 'accept', index: 1, candidate: 'original', fields: 'both' },
      { type: 'accept', index: 1, candidate: 'response-reflected', fields: 'all' },
      { type: 'accept', index: 1, candidate: '__proto__', fields: 'both' },
      { type: 'openDiff', index: 0 },
      { type: 'navigate' },
    ]) {
      assert.equal(isWebviewMessage(message), false, JSON.stringify(message));
    }
  });
});

describe('messages from the host (checked by the webview)', () => {
  it('accepts a show, a status and a notice', () => {
    assert.ok(isHostMessage({ type: 'show', session: 's', records: [record], statuses: [{ state: 'pending' }], index: 0, title: 't' }));
    assert.ok(isHostMessage({ type: 'status', index: 0, status: { state: 'accepted', detail: 'done' } }));
    assert.ok(isHostMessage({ type: 'notice', level: 'error', text: 'no' }));
  });

  it('rejects malformed shows and statuses', () => {
    assert.equal(isHostMessage({ type: 'show', session: 's', records: [record], statuses: [], index: 0, title: 't' }), false, 'one status per record');
    assert.equal(isHostMessage({ type: 'show', session: 's', records: [record], statuses: [{ state: 'pending' }], index: 1, title: 't' }), false, 'index in range');
    assert.equal(isHostMessage({ type: 'show', records: [record], statuses: [{ state: 'pending' }], index: 0, title: 't' }), false, 'a session');
    assert.equal(isHostMessage({ type: 'status', index: 0, status: { state: 'done' } }), false);
    assert.equal(isHostMessage({ type: 'notice', level: 'warning', text: 'x' }), false);
    assert.equal(isReflectionView({ ...record, candidates: [] }), false);
    assert.equal(isReflectionView({ ...record, candidates: [record.candidates[1]] }), false, 'the original comes first');
    assert.equal(isReflectionView({ ...record, candidates: [{ ...record.candidates[0], response: 42 }] }), false);
  });
});

describe('the saved panel state', () => {
  const saved: PanelState = { v: 1, session: 'abc', title: 'Reflection', records: [record], statuses: [{ state: 'accepted', detail: 'x' }], index: 0, shown: { 0: 'response-reflected' } };

  it('survives a JSON round trip (what VS Code stores)', () => {
    assert.deepEqual(panelState(JSON.parse(JSON.stringify(saved))), saved);
  });

  it('is refused when it is not one, and drops picks that make no sense', () => {
    assert.equal(panelState(undefined), undefined);
    assert.equal(panelState({ ...saved, v: 2 }), undefined);
    assert.equal(panelState({ ...saved, index: 1 }), undefined);
    assert.equal(panelState({ ...saved, records: [] }), undefined);
    assert.deepEqual(panelState({ ...saved, shown: { 0: 'bogus', 5: 'original', x: 'original' } })?.shown, {});
  });
});
