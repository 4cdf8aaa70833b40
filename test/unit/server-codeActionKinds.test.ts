import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onlyKinds } from '../../src/server/codeActions';

test('code actions honour the kinds the client asked for (a quick-fix request gets no refactorings)', () => {
  const actions = [{ title: 'Drop record', kind: 'quickfix' }, { title: 'Reflect response', kind: 'refactor.rewrite' }, { title: 'bare' }];
  assert.deepEqual(onlyKinds(actions, ['quickfix']).map((a) => a.title), ['Drop record']);
  assert.deepEqual(onlyKinds(actions, ['refactor']).map((a) => a.title), ['Reflect response']);
  assert.equal(onlyKinds(actions, undefined).length, 3);
  assert.equal(onlyKinds(actions, []).length, 3);
  assert.deepEqual(onlyKinds(actions, ['refactor.extract']), []);
});
