import assert from 'node:assert/strict';
import { DEFAULT_VLLM_MODE } from '../../src/core/scoring/backends';
import { describe, it } from 'node:test';
import { DEFAULT_REFLECTION_SETTINGS, DEFAULT_SETTINGS } from '../../src/protocol';
import { normalizeReflectionSettings, reflectionSettingsFromSection } from '../../src/server/reflection';
import { editorThreads, normalizeSettings, scorerIdentity, scorerSettings } from '../../src/server/settings';

describe('server settings', () => {
  it('keep sift.concurrency = 200 (the manifest allows 0..1024, 0 = adaptive) and hand it to the scorer', () => {
    const settings = normalizeSettings({ ...DEFAULT_SETTINGS, backend: 'vllm', endpointUrls: ['http://127.0.0.1:1'], concurrency: 200 });
    assert.equal(settings.concurrency, 200);
    assert.equal(scorerSettings(settings, undefined).concurrency, 200);
    assert.equal(normalizeSettings({ concurrency: 4096 }).concurrency, 1024);
    assert.equal(normalizeSettings({ concurrency: 0 }).concurrency, 0);
    assert.equal(normalizeSettings({ concurrency: -3 }).concurrency, 0);
    assert.equal(normalizeSettings({}).concurrency, 0, 'adaptive by default');
  });

  it('hand sift.vllmMode to the scorer', () => {
    assert.equal(scorerSettings(normalizeSettings({ backend: 'vllm', vllmMode: 'prompt_logprobs' }), undefined).vllmMode, 'prompt_logprobs');
    assert.equal(normalizeSettings({ vllmMode: 'stream' }).vllmMode, DEFAULT_VLLM_MODE);
  });

  it('make a new HTTP scorer when the concurrency or the vLLM mode changes, not a new local one', () => {
    const vllm = normalizeSettings({ backend: 'vllm', endpointUrls: ['http://127.0.0.1:1'] });
    assert.notEqual(scorerIdentity(vllm, undefined), scorerIdentity({ ...vllm, concurrency: 16 }, undefined));
    assert.notEqual(scorerIdentity(vllm, undefined), scorerIdentity({ ...vllm, vllmMode: 'echo' }, undefined));
    const tgi = { ...vllm, backend: 'tgi' as const };
    assert.equal(scorerIdentity(tgi, undefined), scorerIdentity({ ...tgi, vllmMode: 'echo' }, undefined));
    assert.equal(scorerIdentity(DEFAULT_SETTINGS, undefined), scorerIdentity({ ...DEFAULT_SETTINGS, concurrency: 16 }, undefined));
  });

  it('give the local engine every core but one by default, at least one, and the threads the user set', () => {
    assert.equal(editorThreads({ threads: 0 }, 2), 1);
    assert.equal(editorThreads({ threads: 0 }, 1), 1);
    assert.equal(editorThreads({ threads: 0 }, 16), 15);
    assert.equal(editorThreads({ threads: 4 }, 2), 4);
    assert.equal(scorerSettings({ ...DEFAULT_SETTINGS, threads: 3 }, undefined).threads, 3);
  });

  it('fall back to the defaults, without throwing, for anything a client may send', () => {
    for (const raw of [undefined, null, 42, 'x', [], { backend: 'triton', metrics: 'ifd', threads: -3, template: 7 }]) {
      const settings = normalizeSettings(raw);
      assert.equal(settings.backend, 'local');
      assert.deepEqual(settings.metrics, DEFAULT_SETTINGS.metrics);
      assert.equal(settings.template, DEFAULT_SETTINGS.template);
    }
    assert.equal(normalizeSettings({ threads: -3 }).threads, 0);
    assert.deepEqual(normalizeSettings({ endpointUrls: ' http://gpu:8000 ' }).endpointUrls, ['http://gpu:8000'], 'a single URL as a string');
    assert.deepEqual(normalizeReflectionSettings(null), DEFAULT_REFLECTION_SETTINGS);
  });

  it('check the teacher settings against the same schema', () => {
    assert.equal(normalizeReflectionSettings({ maxConcurrency: 100 }).maxConcurrency, 64);
    assert.equal(normalizeReflectionSettings({ structuredOutput: 'maybe' }).structuredOutput, 'auto');
    const merged = reflectionSettingsFromSection({ teacher: { model: ' gpt ', maxConcurrency: 8 } }, DEFAULT_REFLECTION_SETTINGS);
    assert.equal(merged?.model, 'gpt');
    assert.equal(merged?.maxConcurrency, 8);
  });
});
