import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFilterOptions, defaultFilteredPath, describeFilterResult, parseThreshold, validateAnswer, FILTER_RULES, type FilterRuleId } from '../../src/client/filterChoices';
import { cliCommandFor, isDatasetPath, isTooLargeToSync, largeFileMessage, SYNC_LIMIT_CHARS } from '../../src/client/largeFiles';
import { redact, REDACTED } from '../../src/core/net/redact';
import { RestartPolicy } from '../../src/client/restartPolicy';
import { describeStatus, progressText, statusBarText } from '../../src/client/statusModel';
import type { StatusParams } from '../../src/protocol';

describe('filter choices', () => {
  it('offers each rule of the server with a prompt where it needs a value', () => {
    assert.deepEqual(FILTER_RULES.map((r) => r.id).sort(), ['dsKeep', 'ifdMax', 'rifdMax', 'selfConsistent', 'top']);
    for (const rule of FILTER_RULES) {
      if (rule.prompt) assert.equal(validateAnswer(rule.id, rule.defaultValue ?? ''), undefined, `${rule.id}'s default is valid`);
    }
  });

  it('takes a share by the CLI rule: a bare 80 is refused as ambiguous, 80% and 0.8 are the same', () => {
    assert.equal(validateAnswer('top', '80%'), undefined);
    assert.equal(validateAnswer('top', '0.8'), undefined);
    assert.match(validateAnswer('top', '80') ?? '', /ambiguous: write 80% .* or 0\.8/);
  });

  it('parses thresholds', () => {
    assert.equal(parseThreshold('1'), 1);
    assert.equal(parseThreshold(' 0.95 '), 0.95);
    assert.equal(typeof parseThreshold(''), 'string');
    assert.equal(typeof parseThreshold('Infinity'), 'string');
  });

  it('builds the FilterOptions the server expects', () => {
    const answers = new Map<FilterRuleId, string>([
      ['ifdMax', '1'],
      ['top', '10%'],
      ['dsKeep', '0.8'],
      ['selfConsistent', ''],
      ['rifdMax', '1.2'],
    ]);
    assert.deepEqual(buildFilterOptions('/d/out.jsonl', answers), {
      outPath: '/d/out.jsonl',
      ifdMax: 1,
      topFraction: 0.1,
      dsKeepFraction: 0.8,
      selfConsistent: true,
      rifdMax: 1.2,
    });
    assert.deepEqual(buildFilterOptions('/o.jsonl', new Map()), { outPath: '/o.jsonl' });
  });

  it('suggests <name>.filtered.jsonl next to the dataset', () => {
    assert.equal(defaultFilteredPath('/data/alpaca.jsonl'), '/data/alpaca.filtered.jsonl');
    assert.equal(defaultFilteredPath('/data/x.NDJSON'), '/data/x.filtered.NDJSON');
    assert.equal(defaultFilteredPath('/data/noext'), '/data/noext.filtered.jsonl');
    assert.equal(defaultFilteredPath('C:\\data\\a.b.jsonl'), 'C:\\data\\a.b.filtered.jsonl');
  });

  it('summarises a result', () => {
    assert.equal(
      describeFilterResult({ outPath: '/o', kept: 812, total: 1000, dropped: { 'ifd-max': 120, top: 68, invalid: 0 } }),
      'Kept 812 of 1,000 records (dropped: ifd-max 120, top 68).',
    );
    assert.equal(describeFilterResult({ outPath: '/o', kept: 3, total: 3, dropped: {} }), 'Kept 3 of 3 records.');
  });
});

describe('large files', () => {
  it('recognises datasets by extension', () => {
    assert.ok(isDatasetPath('/a/b.jsonl'));
    assert.ok(isDatasetPath('/a/B.NDJSON'));
    assert.ok(!isDatasetPath('/a/b.json'));
    assert.ok(!isDatasetPath('/a/jsonl'));
  });

  it('calls a file too large only above the sync limit and without a document', () => {
    assert.ok(isTooLargeToSync(SYNC_LIMIT_CHARS + 1, false));
    assert.ok(!isTooLargeToSync(SYNC_LIMIT_CHARS, false));
    assert.ok(!isTooLargeToSync(SYNC_LIMIT_CHARS * 2, true), 'multi-byte text under the character limit is synced');
  });

  it('says why and what to do, and quotes the path for the shell', () => {
    assert.match(largeFileMessage('big.jsonl'), /too large for VS Code to share with extensions \(over 50M characters\); use `sift score FILE`/);
    assert.equal(cliCommandFor("/d/it's big.jsonl"), "sift score '/d/it'\\''s big.jsonl'");
  });
});

describe('redact', () => {
  it('removes the key in raw and JSON-escaped form', () => {
    const key = 'sk-abc"123\\x';
    const traced = `{"scorerApiKey":${JSON.stringify(key)}} and raw ${key}`;
    const out = redact(traced, [key]);
    assert.ok(!out.includes('abc'));
    assert.equal(out, `{"scorerApiKey":"${REDACTED}"} and raw ${REDACTED}`);
  });

  it('removes credentials and query strings from URLs in log lines and traces', () => {
    const traced = '{"endpointUrls":["http://me:hunter22@gpu.example:8000/v1?api_key=sk-secret#x","https://api.example/v1"]} cannot reach http://a.example/?token=t0k3n.';
    const out = redact(traced, []);
    assert.doesNotMatch(out, /hunter22|sk-secret|t0k3n|me:/);
    assert.equal(out, '{"endpointUrls":["http://gpu.example:8000/v1","https://api.example/v1"]} cannot reach http://a.example/');
  });

  it('leaves text alone without a key or with a trivially short one', () => {
    assert.equal(redact('a b c', [undefined, '', 'b']), 'a b c');
  });
});

describe('RestartPolicy', () => {
  it('restarts with doubling delays, then gives up', () => {
    const policy = new RestartPolicy({ maxRestarts: 3, windowMs: 60_000, initialDelayMs: 1000 });
    assert.deepEqual(policy.onCrash(0), { restart: true, delayMs: 1000, crashes: 1 });
    assert.deepEqual(policy.onCrash(1000), { restart: true, delayMs: 2000, crashes: 2 });
    assert.deepEqual(policy.onCrash(2000), { restart: true, delayMs: 4000, crashes: 3 });
    assert.equal(policy.onCrash(3000).restart, false);
  });

  it('forgets crashes older than the window and starts over after a user restart', () => {
    const policy = new RestartPolicy({ maxRestarts: 2, windowMs: 10_000 });
    policy.onCrash(0);
    policy.onCrash(1);
    assert.equal(policy.onCrash(20_000).delayMs, 1000);
    policy.onCrash(20_001);
    assert.equal(policy.onCrash(20_002).restart, false);
    policy.reset();
    assert.equal(policy.onCrash(20_003).restart, true);
  });

  it('caps the delay', () => {
    const policy = new RestartPolicy({ maxRestarts: 100, initialDelayMs: 1000, maxDelayMs: 5000 });
    let last = 0;
    for (let i = 0; i < 10; i++) last = policy.onCrash(i).delayMs;
    assert.equal(last, 5000);
  });
});

describe('status model', () => {
  const status = (over: Partial<StatusParams>): StatusParams => ({ scored: 0, total: 0, running: false, endpoint: 'local', model: 'stories260K', reachable: true, ...over });

  it('the status bar entry keeps the count once scoring ends, with a spinner only while it runs', () => {
    assert.equal(statusBarText(describeStatus(status({ scored: 9, total: 18, running: true }), 'running')), '$(sync~spin) Sift: 9 / 18 scored');
    assert.equal(statusBarText(describeStatus(status({ scored: 18, total: 18, running: false }), 'running')), '$(pulse) Sift: 18 / 18 scored');
    assert.equal(statusBarText(describeStatus(undefined, 'stopped')), '$(error) Sift: server stopped');
  });

  it('shows job progress with thousands separators, busy with a Cancel action', () => {
    assert.equal(progressText(1234, 5000), '1,234 / 5,000 scored');
    const view = describeStatus(status({ scored: 1234, total: 5000, running: true }), 'running');
    assert.equal(view.text, '1,234 / 5,000 scored');
    assert.equal(view.busy, true);
    assert.equal(view.action, 'cancel');
    assert.match(view.detail, /local · stories260K/);
  });

  it('names a local endpoint by its backend only (the model id names the file)', () => {
    const view = describeStatus(status({ endpoint: 'local:/home/me/models/stories260K.gguf', model: 'gguf:stories260K.gguf:ce09' }), 'running');
    assert.equal(view.detail, 'local · gguf:stories260K.gguf:ce09');
  });

  it('flags an unreachable endpoint as an error', () => {
    const view = describeStatus(status({ reachable: false, endpoint: 'http://gpu:8000', message: 'connect ECONNREFUSED' }), 'running');
    assert.equal(view.severity, 'error');
    assert.equal(view.detail, 'connect ECONNREFUSED');
  });

  it('follows the server state', () => {
    assert.equal(describeStatus(undefined, 'starting').busy, true);
    assert.equal(describeStatus(status({}), 'stopped').action, 'restartServer');
    assert.equal(describeStatus(undefined, 'running').action, 'scoreFile');
    assert.equal(describeStatus(status({ scored: 10, total: 10 }), 'running').text, '10 / 10 scored');
  });
});
