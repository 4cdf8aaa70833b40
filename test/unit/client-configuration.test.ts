import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_REFLECTION_SETTINGS, DEFAULT_SETTINGS, type ReflectionSettings, type SiftSettings } from '../../src/protocol';
import { configurationSection } from '../../src/client/settingsModel';
import { reflectionSettingsFromSection } from '../../src/server/reflection';
import { normalizeSettings } from '../../src/server/settings';

describe('the sift section the server pulls', () => {
  const settings: SiftSettings = { ...DEFAULT_SETTINGS, template: 'alpaca', dsValidSet: 'valid.jsonl', metrics: ['ifd', 'ds'] };
  const reflection: ReflectionSettings = { ...DEFAULT_REFLECTION_SETTINGS, baseUrl: 'http://teacher:8000/v1', model: 'm', promptsFile: 'prompts.json', gateBothBelowOne: true };

  it('has the shape of the sift.* settings: scoring at the top, teacher.* and reflection.* below', () => {
    const section = configurationSection(settings, reflection);
    assert.equal(section.template, 'alpaca');
    assert.deepEqual(section.teacher, { baseUrl: 'http://teacher:8000/v1', model: 'm', structuredOutput: 'auto', maxConcurrency: 4, promptsFile: 'prompts.json', priceFile: '' });
    assert.deepEqual(section.reflection, { gateBothBelowOne: true });
  });

  it('reads back on the server as the same settings', () => {
    const section = configurationSection(settings, reflection);
    assert.deepEqual(normalizeSettings(section), settings);
    assert.deepEqual(reflectionSettingsFromSection(section, DEFAULT_REFLECTION_SETTINGS), reflection);
  });

  it('never carries a key', () => {
    assert.ok(!/apikey/i.test(JSON.stringify(configurationSection(settings, reflection))));
  });
});
