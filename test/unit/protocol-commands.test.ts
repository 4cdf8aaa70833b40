import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CancelCommand,
  CommandArgumentError,
  Commands,
  DropRecordCommand,
  ReflectCommand,
  ScoreFileCommand,
  ScoreLinesCommand,
  isDatasetDocument,
  isDatasetPath,
} from '../../src/protocol';

describe('server command declarations', () => {
  it('carry the ids hover links and code actions use', () => {
    assert.equal(ScoreLinesCommand.id, Commands.scoreLines);
    assert.equal(ReflectCommand.id, 'sift.reflect');
  });

  it('decode lines from numbers or the strings of a command URI, the end defaulting to the start', () => {
    assert.deepEqual(ScoreLinesCommand.decode(['file:///d.jsonl', 3]), ['file:///d.jsonl', 3, 3]);
    assert.deepEqual(ScoreLinesCommand.decode(['file:///d.jsonl', '2', 5]), ['file:///d.jsonl', 2, 5]);
  });

  it('refuse a line that is not a 0-based integer, saying what was expected', () => {
    assert.throws(() => ScoreLinesCommand.decode(['file:///d.jsonl', -1]), (e: Error) => e instanceof CommandArgumentError && /expected a 0-based line number, got -1/.test(e.message));
    assert.throws(() => DropRecordCommand.decode(['file:///d.jsonl', 1.5]), CommandArgumentError);
  });

  it('take an optional URI as "every open dataset" when absent', () => {
    assert.deepEqual(ScoreFileCommand.decode([]), [undefined]);
    assert.deepEqual(CancelCommand.decode([42]), [undefined]);
    assert.throws(() => ScoreFileCommand.decode([42]), /not an open dataset: 42/);
  });

  it('default the reflection mode and read only a boolean apply', () => {
    assert.deepEqual(ReflectCommand.decode(['u', 0]), ['u', 0, 'selective', undefined, { apply: false }]);
    assert.deepEqual(ReflectCommand.decode(['u', 0, 'response', 7, { apply: true }]), ['u', 0, 'response', 7, { apply: true }]);
    assert.deepEqual(ReflectCommand.decode(['u', 0, 'response', 'x', { apply: 'yes' }]), ['u', 0, 'response', undefined, { apply: false }]);
  });

  it('mark the commands whose first argument must be an open dataset', () => {
    assert.equal(ScoreLinesCommand.onDocument, true);
    assert.equal(ScoreFileCommand.onDocument, false);
  });
});

describe('the dataset rule', () => {
  it('serves JSON Lines language ids and dataset file names', () => {
    assert.ok(isDatasetDocument({ languageId: 'jsonl', uri: 'untitled:Untitled-1' }));
    assert.ok(isDatasetDocument({ languageId: 'plaintext', uri: 'file:///d/Data.NDJSON' }));
    assert.ok(!isDatasetDocument({ languageId: 'json', uri: 'file:///d/data.json' }));
    assert.ok(isDatasetPath('/a/b.jsonl') && !isDatasetPath('/a/jsonl'));
  });
});
