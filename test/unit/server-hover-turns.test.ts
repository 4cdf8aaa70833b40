import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordScore } from '../../src/core/scoring/recordScore';
import { turnsHover } from '../../src/server/hoverTurns';
import { normalizeSettings } from '../../src/server/settings';

describe('the per-turn part of the hover', () => {
  const score: RecordScore = {
    metrics: { ifd: { value: 0.5 }, rifd: { value: 0.9 } },
    losses: {},
    turns: [
      { metrics: { ifd: { value: 0.75 }, rifd: { value: null, reason: 'empty instruction' } }, losses: {} },
      { metrics: { ifd: { value: 0.5 }, rifd: { value: 0.9 } }, losses: {} },
    ],
    truncated: false,
    cached: false,
    at: 1,
    notes: ['the answer was tokenized on its own'],
  };

  it('lists every assistant turn and says which the record score is', () => {
    const [table, note] = turnsHover(score, normalizeSettings({ turnScore: 'min' }));
    assert.match(table, /the record's score is the min over turns/);
    assert.match(table, /\| 1 \| 0\.7500 \| — \|/);
    assert.match(table, /\| 2 \| 0\.5000 \| 0\.9000 \|/);
    assert.equal(note, '_Note:_ the answer was tokenized on its own');
  });

  it('adds nothing for a single-turn record scored by the rule', () => {
    assert.deepEqual(turnsHover({ ...score, turns: undefined, notes: undefined }, normalizeSettings({})), []);
  });
});
