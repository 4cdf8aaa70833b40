import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CATALOGUE, catalogueModel, formatBytes } from '../../src/core/models/catalogue';
import { defaultModelsDir, isRemoteSource, resolveModel, sourceOf } from '../../src/core/models/store';
import { bundledModel, tempDir } from '../helpers/paths';

test('catalogue: unique names; each a single-file hf:user/repo/file.gguf URI, a size, a sha256 of 64 hex digits where known', () => {
  assert.equal(new Set(CATALOGUE.map((m) => m.name)).size, CATALOGUE.length);
  for (const model of CATALOGUE) {
    assert.match(model.uri, /^hf:[\w.-]+\/[\w.-]+\/[\w.-]+\.gguf$/);
    assert.ok(model.bytes > 100e6 && model.bytes < 2e9, model.name);
    if (model.sha256 !== undefined) assert.match(model.sha256, /^[0-9a-f]{64}$/);
    assert.equal(catalogueModel(model.name), model);
    assert.equal(catalogueModel(model.uri), model);
    assert.equal(sourceOf(model.name), model.uri);
  }
  assert.deepEqual(
    ['qwen2.5-0.5b-instruct', 'qwen2.5-1.5b-instruct', 'smollm2-360m-instruct', 'llama-3.2-1b-instruct', 'gpt2'].map((name) => catalogueModel(name)?.name),
    ['qwen2.5-0.5b-instruct', 'qwen2.5-1.5b-instruct', 'smollm2-360m-instruct', 'llama-3.2-1b-instruct', 'gpt2'],
  );
});

test('formatBytes: decimal units', () => {
  assert.equal(formatBytes(386_404_992), '386 MB');
  assert.equal(formatBytes(986_000_000), '986 MB');
  assert.equal(formatBytes(1_054_304), '1 MB');
  assert.equal(formatBytes(1_500_000_000), '1.5 GB');
  assert.equal(formatBytes(999), '999 B');
});

test('resolveModel: a file path wins; remote names need a pull; anything else is unknown', () => {
  const dir = tempDir();
  assert.deepEqual(resolveModel(bundledModel, dir), { kind: 'file', path: bundledModel });
  assert.equal(resolveModel('gpt2', dir).kind, 'not pulled');
  assert.equal(resolveModel('https://example.invalid/x.gguf', dir).kind, 'not pulled');
  assert.equal(resolveModel('hf:user/repo/x.gguf', dir).kind, 'not pulled');
  assert.equal(resolveModel('missing.gguf', dir).kind, 'unknown');
  assert.equal(isRemoteSource('HF:user/repo'), true);
  assert.equal(isRemoteSource('./model.gguf'), false);
});

test('defaultModelsDir: $SIFT_MODELS_DIR, else $XDG_CACHE_HOME/sift/models', () => {
  assert.equal(defaultModelsDir({ SIFT_MODELS_DIR: '/x/models' }), '/x/models');
  assert.equal(defaultModelsDir({ XDG_CACHE_HOME: '/c' }), '/c/sift/models');
});
