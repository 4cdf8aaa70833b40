/**
 * The CLI's scoring options come from the settings schema, and `--concurrency` / `--vllm-mode`
 * reach the HTTP client: scored in-process against a fake vLLM that counts requests in flight.
 */
import assert from 'node:assert/strict';
import { DEFAULT_VLLM_MODE } from '../../src/core/scoring/backends';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main';
import { runScoring } from '../../src/cli/runScoring';
import { resolveScoreSettings, type ScoreFlags } from '../../src/cli/settings';
import { UsageError } from '../../src/cli/usage';
import { SCORING_SETTINGS } from '../../src/protocol/settings';
import { FakeVllm } from '../helpers/fake-vllm';
import { tempDir } from '../helpers/paths';

const SCORING_COMMANDS = ['score', 'filter', 'stats', 'reflect'];

function command(program: Command, name: string): Command {
  const found = program.commands.find((c) => c.name() === name);
  assert.ok(found, `sift ${name}`);
  return found;
}

/** The flags commander hands to `sift score` for these arguments (the command itself does not run). */
async function scoreFlags(args: string[]): Promise<ScoreFlags> {
  const program = buildProgram();
  let flags: ScoreFlags | undefined;
  command(program, 'score')
    .configureOutput({ writeErr: () => undefined })
    .action((_file: string, parsed: ScoreFlags) => {
      flags = parsed;
    });
  await program.parseAsync(['score', 'data.jsonl', ...args], { from: 'user' });
  assert.ok(flags);
  return flags;
}

const dir = tempDir('sift-cli-options-');
const dataset = join(dir, 'data.jsonl');
writeFileSync(
  dataset,
  Array.from({ length: 24 }, (_, i) => JSON.stringify({ instruction: `Write line ${i}.`, input: '', output: `Line ${i} is here.` })).join('\n') + '\n',
);

async function scoreThrough(fake: FakeVllm, extra: string[]): Promise<number> {
  const settings = resolveScoreSettings(await scoreFlags(['--url', fake.url, '--no-cache', '--quiet', ...extra]));
  let scored = 0;
  await runScoring(dataset, settings, { quiet: true, onInvalid: () => undefined, onScore: () => scored++ });
  return scored;
}

describe('sift scoring options', () => {
  it('offer the choices and defaults of the sift.* settings on every scoring command', () => {
    const program = buildProgram();
    const flags: Record<string, keyof typeof SCORING_SETTINGS> = {
      '--backend': 'backend',
      '--template': 'template',
      '--boundary': 'boundary',
      '--ifd-variant': 'ifdVariant',
      '--ds-rule': 'dsRule',
      '--vllm-mode': 'vllmMode',
    };
    for (const name of SCORING_COMMANDS) {
      const options = command(program, name).options;
      for (const [flag, key] of Object.entries(flags)) {
        const option = options.find((o) => o.long === flag);
        assert.ok(option, `sift ${name} ${flag}`);
        const spec = SCORING_SETTINGS[key];
        assert.ok(spec.type === 'enum');
        assert.deepEqual(option.argChoices, spec.values, `${flag} choices`);
        if (key !== 'backend') assert.equal(option.defaultValue, spec.default, `${flag} default`);
      }
      assert.deepEqual(options.find((o) => o.long === '--format')?.argChoices, SCORING_SETTINGS.format.values.filter(Boolean));
      assert.equal(options.find((o) => o.long === '--metrics')?.defaultValue, SCORING_SETTINGS.metrics.default.join(','));
      assert.equal(options.find((o) => o.long === '--concurrency')?.defaultValue, String(SCORING_SETTINGS.concurrency.default), `sift ${name} --concurrency`);
    }
  });

  it('check --concurrency against the range of sift.concurrency (0..1024, 0 = adaptive)', async () => {
    const url = ['--url', 'http://127.0.0.1:9'];
    assert.equal(resolveScoreSettings(await scoreFlags(url)).scorer.concurrency, 0);
    assert.equal(resolveScoreSettings(await scoreFlags([...url, '--concurrency', '1024'])).scorer.concurrency, 1024);
    for (const bad of ['-1', '1025', '2.5', 'many', '']) {
      const flags = await scoreFlags([...url, '--concurrency', bad]);
      assert.throws(() => resolveScoreSettings(flags), (e: unknown) => e instanceof UsageError && /--concurrency expects an integer from 0 to 1024/.test(e.message), bad);
    }
  });

  it('refuse a non-http --url without echoing its credentials or query string', async () => {
    const flags = await scoreFlags(['--url', 'ftp://user:hunter22@gpu.example/v1?api_key=sk-secret']);
    assert.throws(() => resolveScoreSettings(flags), (e: unknown) => e instanceof UsageError && /ftp:\/\/gpu\.example\/v1/.test(e.message) && !/hunter22|sk-secret/.test(e.message));
  });

  it('pass --vllm-mode on, default prompt_logprobs (DEFAULT_VLLM_MODE)', async () => {
    const url = ['--url', 'http://127.0.0.1:9'];
    assert.equal(DEFAULT_VLLM_MODE, 'prompt_logprobs');
    assert.equal(resolveScoreSettings(await scoreFlags(url)).scorer.vllmMode, DEFAULT_VLLM_MODE);
    assert.equal(resolveScoreSettings(await scoreFlags([...url, '--vllm-mode', 'echo'])).scorer.vllmMode, 'echo');
    assert.equal(resolveScoreSettings(await scoreFlags([...url, '--vllm-mode', 'prompt_logprobs'])).scorer.vllmMode, 'prompt_logprobs');
    await assert.rejects(scoreFlags([...url, '--vllm-mode', 'stream']), /invalid/i);
  });
});

describe('sift scoring against a vLLM endpoint', () => {
  let fake: FakeVllm;
  before(async () => {
    fake = await FakeVllm.start({ latencyMs: 25 });
  });
  after(() => fake.close());

  for (const concurrency of [1, 8]) {
    it(`keeps at most --concurrency ${concurrency} scoring requests in flight, and uses them`, async () => {
      fake.maxInFlightOn.clear();
      assert.equal(await scoreThrough(fake, ['--concurrency', String(concurrency)]), 24);
      // Tokenize calls have their own limit (the pool's light lane), apart from --concurrency.
      const most = fake.maxInFlightOn.get('/v1/completions') ?? 0;
      // 24 short records make few requests: at most --concurrency of them at once, and with 1, one.
      assert.ok(most >= 1 && most <= concurrency, `${most} in flight`);
      if (concurrency === 1) assert.equal(most, 1);
    });
  }

  it('asks for log-probs the --vllm-mode way', async () => {
    const bodies = (): Record<string, unknown>[] => fake.requestsTo('/v1/completions').map((r) => r.body as Record<string, unknown>);
    const before = bodies().length;
    await scoreThrough(fake, []);
    const promptLogprobs = bodies().slice(before);
    assert.ok(promptLogprobs.length > 0);
    for (const body of promptLogprobs) assert.equal(typeof body.prompt_logprobs, 'number', 'the default mode');
    const echoed = bodies().length;
    await scoreThrough(fake, ['--vllm-mode', 'echo']);
    const echo = bodies().slice(echoed);
    assert.ok(echo.length > 0);
    for (const body of echo) assert.equal(body.echo, true);
  });
});
