import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DECORATION_KINDS, decorationText, groupByKind, gutterIconFile, kindOfBucket, marksOverviewRuler, themeColorId } from '../../src/client/buckets';

describe('client buckets', () => {
  it('maps every protocol bucket to its own kind and unknown buckets to none', () => {
    assert.deepEqual([0, 1, 2, 3, 4, -1, -2].map(kindOfBucket), ['best', 'good', 'middle', 'poor', 'worst', 'pending', 'none']);
    assert.equal(kindOfBucket(7), 'none');
    assert.equal(kindOfBucket(Number.NaN), 'none');
  });

  it('names a contributed theme colour per kind and keeps pending/unscored off the overview ruler', () => {
    assert.equal(themeColorId('worst'), 'sift.score.worst');
    assert.deepEqual(DECORATION_KINDS.filter(marksOverviewRuler), ['best', 'good', 'middle', 'poor', 'worst']);
  });

  it('prefixes the label with a marker glyph', () => {
    assert.equal(decorationText('best', 'IFD 0.82 · r-IFD 0.41'), '● IFD 0.82 · r-IFD 0.41');
    assert.equal(decorationText('pending', ' scoring… '), '◌ scoring…');
    assert.equal(decorationText('none', ''), '○');
  });

  it('groups by kind with every kind present, in line order, last score per line winning', () => {
    const groups = groupByKind(
      [
        { line: 5, label: 'IFD 1.20', bucket: 4 },
        { line: 2, label: 'IFD 0.40', bucket: 0 },
        { line: 2, label: 'IFD 0.41', bucket: 0 },
        { line: 3, label: 'scoring…', bucket: -1 },
        { line: 9, label: 'beyond the end', bucket: 0 },
        { line: -1, label: 'before the start', bucket: 0 },
        { line: 1.5, label: 'not a line', bucket: 0 },
      ],
      8,
    );
    assert.deepEqual([...groups.keys()], [...DECORATION_KINDS]);
    assert.deepEqual(groups.get('best'), [{ line: 2, text: '● IFD 0.41' }]);
    assert.deepEqual(groups.get('worst'), [{ line: 5, text: '● IFD 1.20' }]);
    assert.deepEqual(groups.get('pending'), [{ line: 3, text: '◌ scoring…' }]);
    assert.deepEqual(groups.get('good'), []);
  });

  it('moves a line to its new kind when its bucket changes (one line, one decoration)', () => {
    const groups = groupByKind([{ line: 0, label: 'scoring…', bucket: -1 }, { line: 0, label: 'IFD 0.9', bucket: 2 }], 1);
    assert.deepEqual(groups.get('pending'), []);
    assert.deepEqual(groups.get('middle'), [{ line: 0, text: '● IFD 0.9' }]);
  });
});

describe('gutter icons', () => {
  it('exist for the scored kinds in the default colours of their theme colour', () => {
    const root = join(__dirname, '..', '..', '..');
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { contributes: { colors: { id: string; defaults: Record<string, string> }[] } };
    for (const kind of DECORATION_KINDS) {
      for (const theme of ['light', 'dark'] as const) {
        const file = gutterIconFile(kind, theme);
        if (!marksOverviewRuler(kind)) {
          assert.equal(file, undefined);
          continue;
        }
        assert.ok(file && existsSync(join(root, file)), `${file} exists`);
        const color = manifest.contributes.colors.find((c) => c.id === themeColorId(kind))!.defaults[theme];
        assert.match(readFileSync(join(root, file), 'utf8'), new RegExp(`fill="${color}"`, 'i'), `${file} uses ${color}`);
      }
    }
  });
});
