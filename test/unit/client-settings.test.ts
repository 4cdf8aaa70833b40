import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_SETTINGS, Commands } from '../../src/protocol';
import { DECORATION_KINDS, themeColorId } from '../../src/client/buckets';
import { CommandIds } from '../../src/client/commandIds';
import { REFLECTION_SETTING_KEYS, RESTRICTED_REFLECTION_KEYS } from '../../src/client/reflectionSettingsModel';
import { RESTRICTED_KEYS, SETTING_KEYS, resolveSettings, settingsEqual, type InspectedValue, type SettingKey } from '../../src/client/settingsModel';

/** A configuration with values per level, resolved with VS Code's precedence for `get`. */
function source(levels: Partial<Record<SettingKey, InspectedValue>>) {
  return {
    get: (key: SettingKey) => {
      const v = levels[key];
      return v?.workspaceFolderValue ?? v?.workspaceValue ?? v?.globalValue ?? DEFAULT_SETTINGS[key];
    },
    inspect: (key: SettingKey): InspectedValue => ({ defaultValue: DEFAULT_SETTINGS[key], ...levels[key] }),
  };
}

describe('resolveSettings', () => {
  it('gives the defaults with no configuration at all', () => {
    assert.deepEqual(resolveSettings(source({}), true), DEFAULT_SETTINGS);
    assert.deepEqual(resolveSettings(source({}), false), DEFAULT_SETTINGS);
  });

  it('uses workspace values when the workspace is trusted', () => {
    const settings = resolveSettings(
      source({ endpointUrls: { workspaceValue: ['http://gpu:8000'] }, backend: { workspaceValue: 'vllm' }, template: { workspaceFolderValue: 'alpaca' } }),
      true,
    );
    assert.deepEqual(settings.endpointUrls, ['http://gpu:8000']);
    assert.equal(settings.backend, 'vllm');
    assert.equal(settings.template, 'alpaca');
  });

  it('ignores workspace values of endpoint, model, valid set, backend and concurrency in a restricted workspace', () => {
    const levels: Partial<Record<SettingKey, InspectedValue>> = {
      endpointUrls: { workspaceValue: ['http://attacker.example'] },
      backend: { workspaceValue: 'vllm' },
      modelPath: { workspaceFolderValue: '/tmp/evil.gguf', globalValue: '/home/me/qwen.gguf' },
      dsValidSet: { workspaceValue: '../../secrets.jsonl' },
      template: { workspaceValue: 'vicuna' },
      concurrency: { workspaceValue: 1024 },
    };
    const settings = resolveSettings(source(levels), false);
    assert.equal(settings.concurrency, DEFAULT_SETTINGS.concurrency, 'a workspace cannot flood the endpoint');
    assert.deepEqual(settings.endpointUrls, []);
    assert.equal(settings.backend, 'local');
    assert.equal(settings.modelPath, '/home/me/qwen.gguf', "the user's own value still applies");
    assert.equal(settings.dsValidSet, '');
    assert.equal(settings.template, 'vicuna', 'harmless settings keep their workspace value');
  });

  it('prefers a user-level [jsonl] value over the plain user value of a restricted setting', () => {
    const settings = resolveSettings(source({ modelPath: { globalValue: '/a.gguf', globalLanguageValue: '/b.gguf', workspaceLanguageValue: '/c.gguf' } }), false);
    assert.equal(settings.modelPath, '/b.gguf');
  });

  it('replaces invalid values by the default and cleans lists', () => {
    const settings = resolveSettings(
      source({
        backend: { globalValue: 'triton' },
        metrics: { globalValue: ['ds', 'bogus', 'ds', 'ifd'] },
        endpointUrls: { globalValue: [' http://a:1 ', '', 42, 'http://a:1'] },
        concurrency: { globalValue: 'many' },
        threads: { globalValue: 2.5 },
        ifdWarnAt: { globalValue: 'high' },
        autoScoreOnOpen: { globalValue: 'yes' },
        modelPath: { globalValue: '  /m.gguf ' },
      }),
      true,
    );
    assert.equal(settings.backend, 'local');
    assert.deepEqual(settings.metrics, ['ds', 'ifd']);
    assert.deepEqual(settings.endpointUrls, ['http://a:1']);
    assert.equal(settings.concurrency, DEFAULT_SETTINGS.concurrency);
    assert.equal(settings.threads, DEFAULT_SETTINGS.threads);
    assert.equal(settings.ifdWarnAt, 1);
    assert.equal(settings.autoScoreOnOpen, true);
    assert.equal(settings.modelPath, '/m.gguf');
    assert.deepEqual(resolveSettings(source({ metrics: { globalValue: [] } }), true).metrics, DEFAULT_SETTINGS.metrics);
    assert.equal(resolveSettings(source({ concurrency: { globalValue: -5 } }), true).concurrency, 0, 'a number out of range is clamped to it');
    assert.equal(resolveSettings(source({ concurrency: { globalValue: 200 } }), true).concurrency, 200, 'the range is the manifest\'s 1..1024');
  });

  it('compares settings by value', () => {
    assert.ok(settingsEqual(DEFAULT_SETTINGS, structuredClone(DEFAULT_SETTINGS)));
    assert.ok(!settingsEqual(DEFAULT_SETTINGS, { ...DEFAULT_SETTINGS, metrics: ['ifd'] }));
  });
});

interface Manifest {
  main: string;
  activationEvents: string[];
  capabilities: { untrustedWorkspaces: { supported: string; description: string; restrictedConfigurations: string[] } };
  contributes: {
    languages: { id: string; extensions?: string[] }[];
    commands: { command: string }[];
    menus: Record<string, { command: string }[]>;
    colors: { id: string; defaults: Record<string, string> }[];
    configuration: { properties: Record<string, { scope?: string; markdownDescription?: string; default?: unknown; enum?: unknown[]; items?: { enum?: unknown[] } }> };
  };
}

function findManifest(): Manifest {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'src', 'client'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found');
    dir = parent;
  }
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
}

describe('package.json contributions match the client', () => {
  const manifest = findManifest();
  const properties = manifest.contributes.configuration.properties;

  it('contributes every setting with a scope, a markdownDescription and the protocol default', () => {
    for (const key of SETTING_KEYS) {
      const property = properties[`sift.${key}`];
      assert.ok(property, `sift.${key} is contributed`);
      assert.ok(['resource', 'machine-overridable', 'window', 'machine', 'application'].includes(property.scope ?? ''), `sift.${key} has a scope`);
      assert.ok(typeof property.markdownDescription === 'string' && property.markdownDescription.length > 10, `sift.${key} has a markdownDescription`);
      assert.deepEqual(property.default, DEFAULT_SETTINGS[key], `default of sift.${key}`);
    }
    for (const name of Object.keys(properties)) {
      const key = name.slice('sift.'.length);
      assert.ok(name === 'sift.trace.server' || SETTING_KEYS.includes(key as SettingKey) || key in REFLECTION_SETTING_KEYS, `${name} is read by the client`);
      assert.ok(properties[name].scope && properties[name].markdownDescription, `${name} has scope and markdownDescription`);
    }
  });

  it('declares limited support for untrusted workspaces restricting exactly the client\'s restricted settings', () => {
    const untrusted = manifest.capabilities.untrustedWorkspaces;
    assert.equal(untrusted.supported, 'limited');
    assert.ok(untrusted.description);
    assert.deepEqual([...untrusted.restrictedConfigurations].sort(), [...RESTRICTED_KEYS, ...RESTRICTED_REFLECTION_KEYS].map((k) => `sift.${k}`).sort());
  });

  it('contributes a theme colour with four theme defaults for every decoration kind', () => {
    const colors = new Map(manifest.contributes.colors.map((c) => [c.id, c]));
    for (const kind of DECORATION_KINDS) {
      const color = colors.get(themeColorId(kind));
      assert.ok(color, `${themeColorId(kind)} is contributed`);
      for (const theme of ['dark', 'light', 'highContrast', 'highContrastLight']) assert.ok(color?.defaults[theme], `${themeColorId(kind)} ${theme}`);
    }
  });

  it('contributes exactly the client commands, none clashing with the server-executed ones', () => {
    const contributed: string[] = manifest.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual([...contributed], Object.values(CommandIds).sort());
    for (const id of Object.values(Commands)) assert.ok(!contributed.includes(id), `${id} is left to the language client`);
    for (const entry of Object.values(manifest.contributes.menus).flat()) assert.ok(contributed.includes(entry.command), `menu entry ${entry.command}`);
  });

  it('activates on JSONL and contributes the jsonl language for .jsonl and .ndjson', () => {
    assert.ok(manifest.activationEvents.includes('onLanguage:jsonl'));
    const jsonl = manifest.contributes.languages.find((l) => l.id === 'jsonl');
    assert.deepEqual(jsonl?.extensions, ['.jsonl', '.ndjson']);
    assert.equal(manifest.main, './dist/extension.js');
  });
});
