import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ALL_SETTINGS,
  DEFAULT_REFLECTION_SETTINGS,
  DEFAULT_SETTINGS,
  REFLECTION_SETTINGS,
  SCORING_SETTINGS,
  manifestConfiguration,
  normalizeValue,
  restrictedConfigurations,
} from '../../src/protocol/settings';
import { repoRoot } from '../helpers/paths';

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));

describe('settings schema', () => {
  it('is what package.json contributes (run `npm run manifest` after changing the schema)', () => {
    assert.deepEqual(manifest.contributes.configuration, manifestConfiguration());
  });

  it('restricts in untrusted workspaces exactly the settings it marks restricted', () => {
    assert.deepEqual(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations, restrictedConfigurations());
    assert.deepEqual(restrictedConfigurations().sort(), [
      'sift.backend',
      'sift.concurrency',
      'sift.dsValidSet',
      'sift.endpointUrls',
      'sift.modelPath',
      'sift.teacher.baseUrl',
      'sift.teacher.model',
      'sift.teacher.priceFile',
      'sift.teacher.promptsFile',
    ]);
  });

  it('declares sift.concurrency 0..1024 (default 0: adaptive) and sift.vllmMode echo | prompt_logprobs (default prompt_logprobs)', () => {
    const properties = manifest.contributes.configuration.properties;
    assert.deepEqual(
      [properties['sift.concurrency'].minimum, properties['sift.concurrency'].maximum, properties['sift.concurrency'].default],
      [0, 1024, 0],
    );
    assert.deepEqual(properties['sift.vllmMode'].enum, ['echo', 'prompt_logprobs']);
    assert.equal(properties['sift.vllmMode'].default, 'prompt_logprobs');
    assert.equal(properties['sift.vllmMode'].scope, properties['sift.backend'].scope);
  });

  it('gives every setting a description, a scope and a unique key and order, and each choice a description', () => {
    const keys = ALL_SETTINGS.map((s) => s.key);
    assert.equal(new Set(keys).size, keys.length);
    const orders = ALL_SETTINGS.map((s) => s.order);
    assert.equal(new Set(orders).size, orders.length);
    for (const spec of ALL_SETTINGS) {
      assert.ok(spec.markdownDescription.length > 10, spec.key);
      if ((spec.type === 'enum' || spec.type === 'enumArray') && spec.descriptions) {
        assert.deepEqual(Object.keys(spec.descriptions).sort(), [...spec.values].sort(), `choices of ${spec.key}`);
      }
    }
  });

  it('derives the defaults', () => {
    assert.equal(DEFAULT_SETTINGS.concurrency, 0);
    assert.equal(DEFAULT_SETTINGS.vllmMode, 'prompt_logprobs');
    assert.deepEqual(DEFAULT_SETTINGS.metrics, ['ifd', 'rifd']);
    assert.equal(DEFAULT_REFLECTION_SETTINGS.maxConcurrency, 4);
    assert.deepEqual(Object.keys(DEFAULT_SETTINGS), Object.keys(SCORING_SETTINGS));
  });

  it('normalises a value: the wrong type gives the default, out of range is clamped, lists are cleaned', () => {
    const concurrency = SCORING_SETTINGS.concurrency;
    assert.equal(normalizeValue(concurrency, 200), 200);
    assert.equal(normalizeValue(concurrency, 1024), 1024);
    assert.equal(normalizeValue(concurrency, 5000), 1024);
    assert.equal(normalizeValue(concurrency, 0), 0);
    assert.equal(normalizeValue(concurrency, -1), 0);
    assert.equal(normalizeValue(concurrency, 2.5), 0);
    assert.equal(normalizeValue(concurrency, '8'), 0);
    assert.equal(normalizeValue(concurrency, Number.NaN), 0);
    assert.equal(normalizeValue(SCORING_SETTINGS.ifdWarnAt, 1.5), 1.5);
    assert.equal(normalizeValue(SCORING_SETTINGS.ifdWarnAt, -1), 0);
    assert.equal(normalizeValue(REFLECTION_SETTINGS.maxConcurrency, 100), 64);
    assert.equal(normalizeValue(SCORING_SETTINGS.vllmMode, 'prompt_logprobs'), 'prompt_logprobs');
    assert.equal(normalizeValue(SCORING_SETTINGS.vllmMode, 'stream'), 'prompt_logprobs');
    assert.equal(normalizeValue(SCORING_SETTINGS.format, ''), '');
    assert.deepEqual(normalizeValue(SCORING_SETTINGS.metrics, ['ds', 'nope', 'ds']), ['ds']);
    assert.deepEqual(normalizeValue(SCORING_SETTINGS.metrics, []), ['ifd', 'rifd']);
    assert.deepEqual(normalizeValue(SCORING_SETTINGS.endpointUrls, ' http://a:1 '), ['http://a:1']);
    assert.deepEqual(normalizeValue(SCORING_SETTINGS.endpointUrls, null), []);
    assert.equal(normalizeValue(REFLECTION_SETTINGS.model, ' m '), 'm');
  });

  it('hands out copies of list defaults', () => {
    const metrics = normalizeValue(SCORING_SETTINGS.metrics, undefined);
    metrics.push('ds');
    assert.deepEqual(SCORING_SETTINGS.metrics.default, ['ifd', 'rifd']);
  });
});
