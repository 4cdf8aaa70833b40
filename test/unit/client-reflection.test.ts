import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { splitDocumentLines } from '../../src/core/dataset/lines';
import {
  acceptRange,
  acceptedLine,
  batchSummary,
  contentSecurityPolicy,
  estimateMessage,
  makeNonce,
  planAccept,
  prettyRecord,
  webviewHtml,
  type DocumentLines,
} from '../../src/client/reflectionPanelModel';
import {
  REFLECTION_SETTING_KEYS,
  RESTRICTED_REFLECTION_KEYS,
  STRUCTURED_OUTPUT_VALUES,
  missingTeacher,
  resolveReflectionSettings,
  type ReflectionSettingKey,
} from '../../src/client/reflectionSettingsModel';
import { batchChoiceLabel, money, pendingMessage } from '../../src/client/teacherBatchModel';
import type { InspectedValue } from '../../src/client/settingsModel';
import { DEFAULT_REFLECTION_SETTINGS } from '../../src/protocol';
import type { CandidateView, ReflectionView } from '../../src/protocol/reflectionView';

// ---- a reflection result as the server sends it ----------------------------------------------------

const ORIGINAL = '{"instruction":"Tell a story.","input":"","output":"Tim had a ball."}';
const BOTH = '{"instruction":"Tell a story about a dog.","input":"","output":"Tim had a big red ball."}';
const INSTRUCTION_ONLY = '{"instruction":"Tell a story about a dog.","input":"","output":"Tim had a ball."}';
const RESPONSE_ONLY = '{"instruction":"Tell a story.","input":"","output":"Tim had a big red ball."}';

function candidate(id: CandidateView['id'], extra: Partial<CandidateView> = {}): CandidateView {
  return { id, instruction: 'Tell a story.', input: '', response: 'Tim had a ball.', losses: {}, fallbacks: [], notes: [], ...extra };
}

function view(extra: Partial<ReflectionView> = {}): ReflectionView {
  return {
    uri: 'file:///data/a.jsonl',
    line: 1,
    version: 7,
    originalText: ORIGINAL,
    format: 'alpaca',
    mode: 'selective',
    candidates: [
      candidate('original'),
      candidate('instruction-reflected', {
        instruction: 'Tell a story about a dog.',
        response: 'Tim had a big red ball.',
        line: BOTH,
        instructionOnlyLine: INSTRUCTION_ONLY,
        responseOnlyLine: RESPONSE_ONLY,
      }),
    ],
    decisions: [],
    kept: 'instruction-reflected',
    changed: true,
    reason: 'kept the instruction-reflected pair',
    usage: { calls: 1, promptTokens: 10, completionTokens: 5, cachedReflections: 0 },
    teacher: { model: 't', endpoint: 'http://127.0.0.1:1/v1', promptVersion: 'sift-reflect-1' },
    student: { model: 'm', template: 'plain', ifdVariant: 'ppl' },
    ...extra,
  };
}

/** A document as VS Code models it: lines split exactly like its text model, terminators kept aside. */
function documentOf(text: string, version = 7): DocumentLines & { text: string } {
  const lines = splitDocumentLines(text);
  return { text, version, lineCount: lines.length, lineText: (i) => lines[i].text };
}

/** Applies a one-line replacement at (line, start..end) to the raw text, as the editor would. */
function applyAt(doc: ReturnType<typeof documentOf>, line: number, start: number, end: number, newText: string): string {
  const src = splitDocumentLines(doc.text)[line];
  return doc.text.slice(0, src.offset + start) + newText + doc.text.slice(src.offset + end);
}

describe('Accept: the edit', () => {
  it('replaces exactly the record line content and keeps CRLF line endings byte for byte', () => {
    const text = `{"a":1}\r\n${ORIGINAL}\r\n{"b":2}\r\n`;
    const doc = documentOf(text);
    const plan = planAccept(doc, view(), 'instruction-reflected', 'both');
    assert.ok(plan.ok);
    assert.equal(plan.line, 1);
    const range = acceptRange(doc, plan.line);
    assert.deepEqual(range, { line: 1, start: 0, end: ORIGINAL.length }, 'the terminator is not in the range');
    const after = applyAt(doc, range.line, range.start, range.end, plan.newText);
    assert.equal(after, `{"a":1}\r\n${BOTH}\r\n{"b":2}\r\n`);
    assert.equal(after.split('\r\n').length, text.split('\r\n').length, 'same number of CRLF terminators');
    assert.ok(!/[^\r]\n/.test(after), 'no bare LF introduced');
  });

  it('keeps LF files and a last line without a terminator as they are', () => {
    const doc = documentOf(`{"a":1}\n${ORIGINAL}`);
    const plan = planAccept(doc, view(), 'instruction-reflected', 'both');
    assert.ok(plan.ok);
    const range = acceptRange(doc, plan.line);
    assert.equal(applyAt(doc, range.line, range.start, range.end, plan.newText), `{"a":1}\n${BOTH}`);
  });

  it('writes one side only when asked', () => {
    const doc = documentOf(`x\n${ORIGINAL}\n`);
    const instruction = planAccept(doc, view(), 'instruction-reflected', 'instruction');
    const response = planAccept(doc, view(), 'instruction-reflected', 'response');
    assert.ok(instruction.ok && response.ok);
    assert.equal(instruction.newText, INSTRUCTION_ONLY);
    assert.equal(response.newText, RESPONSE_ONLY);
  });

  it('still accepts when other lines changed, and follows the record when lines above were inserted', () => {
    const edited = planAccept(documentOf(`changed\n${ORIGINAL}\n`, 9), view(), 'instruction-reflected', 'both');
    assert.ok(edited.ok);
    assert.equal(edited.line, 1);
    const moved = planAccept(documentOf(`new\nnew\n{"a":1}\n${ORIGINAL}\n`, 9), view(), 'instruction-reflected', 'both');
    assert.ok(moved.ok);
    assert.equal(moved.line, 3);
    assert.match(moved.note ?? '', /moved from line 2 to line 4/);
  });

  it('refuses, saying why, when the record line changed since the reflection started', () => {
    const plan = planAccept(documentOf(`{"a":1}\n{"instruction":"Tell a story.","input":"","output":"Edited."}\n`, 8), view(), 'instruction-reflected', 'both');
    assert.equal(plan.ok, false);
    assert.match(!plan.ok ? plan.reason : '', /line 2 was edited since the reflection started \(document version 7 then, 8 now\)/);
  });

  it('refuses when the original text is now on several other lines (ambiguous), and a second accept', () => {
    const ambiguous = planAccept(documentOf(`${ORIGINAL}\nedited\n${ORIGINAL}\n`, 8), view(), 'instruction-reflected', 'both');
    assert.equal(ambiguous.ok, false);
    assert.match(!ambiguous.ok ? ambiguous.reason : '', /several lines/);
    const again = planAccept(documentOf(`{"a":1}\n${BOTH}\n`, 8), view(), 'instruction-reflected', 'both');
    assert.equal(again.ok, false);
    assert.match(!again.ok ? again.reason : '', /already holds this rewrite/);
  });

  it('has nothing to accept for the original, a failed teacher call, or a pair that cannot be written back', () => {
    assert.ok('reason' in acceptedLine(candidate('original'), 'both'));
    assert.match((acceptedLine(candidate('response-reflected', { teacherError: '503' }), 'both') as { reason: string }).reason, /teacher call failed \(503\)/);
    assert.match((acceptedLine(candidate('response-reflected', { lineError: 'no assistant turn' }), 'both') as { reason: string }).reason, /no assistant turn/);
    assert.match((acceptedLine(candidate('response-reflected', { line: BOTH }), 'instruction') as { reason: string }).reason, /only one side/);
  });

  it('pretty-prints records for the diff editor', () => {
    assert.equal(prettyRecord('{"a":"<b>"}'), '{\n  "a": "<b>"\n}\n');
    assert.equal(prettyRecord('not json'), 'not json\n');
  });
});

describe('the webview page', () => {
  it('has a strict CSP: scripts only with the nonce, no unsafe-inline or eval, nothing by default', () => {
    const nonce = makeNonce();
    assert.match(nonce, /^[A-Za-z0-9+/]{22}==$/);
    assert.notEqual(makeNonce(), nonce);
    const csp = contentSecurityPolicy('https://*.vscode-cdn.net', nonce);
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    assert.deepEqual(directives.get('script-src'), [`'nonce-${nonce}'`]);
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
  });

  it('loads only the bundle, with the nonce, and puts no dataset text in the page', () => {
    const html = webviewHtml({ cspSource: 'vscode-resource:', nonce: 'abc', scriptUri: 'vscode-resource:/x/reflection.js', styleUri: 'vscode-resource:/x/reflection.css', title: 'a "<b>" title' });
    assert.equal((html.match(/<script/g) ?? []).length, 1);
    assert.match(html, /<script nonce="abc" src="vscode-resource:\/x\/reflection.js"><\/script>/);
    assert.match(html, /<title>a &quot;&lt;b&gt;&quot; title<\/title>/);
    assert.match(html, /http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-abc'/);
  });
});

describe('estimate and summary words', () => {
  it('states the calls and the tokens before a batch', () => {
    const { message, detail } = estimateMessage({
      lines: [0, 1, 2],
      version: 1,
      skipped: 1,
      mode: 'selective',
      calls: 6,
      cachedCalls: 2,
      promptTokens: 1200,
      completionTokens: 3400,
      estimatedTokens: 4600,
      structured: true,
      teacher: { model: 'gpt-x', endpoint: 'https://api.example/v1' },
      pendingBatches: 0,
    });
    assert.equal(message, 'Selective reflection of 3 records: up to 6 teacher calls, about 4,600 tokens.');
    assert.match(detail, /gpt-x at https:\/\/api\.example\/v1/);
    assert.match(detail, /~1,200 prompt \+ ~3,400 completion/);
    assert.match(detail, /2 more reflections are answered by the reflection cache/);
    assert.match(detail, /1 selected line is not a record/);
  });

  it('states the cost now and as a teacher batch, and offers the batch by its number of records', () => {
    const estimate = {
      lines: [0, 1],
      version: 1,
      skipped: 0,
      mode: 'response' as const,
      calls: 2,
      cachedCalls: 0,
      promptTokens: 1000,
      completionTokens: 600,
      estimatedTokens: 1600,
      structured: true,
      teacher: { model: 'gpt-4o-mini-2024-07-18', endpoint: 'https://api.openai.com/v1' },
      cost: { currency: 'USD', sync: 0.51, batch: 0.255, priced: 'gpt-4o-mini', input: 0.15, output: 0.6, asOf: '2025-08', source: 'built-in' },
      pendingBatches: 1,
    };
    const { detail } = estimateMessage(estimate);
    assert.match(detail, /Cost: about \$0\.51 now, or about \$0\.26 as a batch \(gpt-4o-mini-2024-07-18 \(priced as gpt-4o-mini\): \$0\.15 \/ \$0\.60 per 1M prompt \/ completion tokens, prices of 2025-08 from Sift's price table\)\./);
    assert.match(detail, /A teacher batch for this dataset is still pending: the batch choice picks it up/);
    assert.doesNotMatch(detail, /two batches/, 'a response run takes one batch');
    assert.match(estimateMessage({ ...estimate, mode: 'selective' }).detail, /a selective run takes two batches \(one per stage\)/);
    assert.match(estimateMessage({ ...estimate, cost: undefined, costNote: 'no price for my-model in Sift\'s price table (add it in a price file: sift.teacher.priceFile)' }).detail, /Cost: no price for my-model/);
    assert.equal(batchChoiceLabel(2), 'Reflect 2 records (batch: about half the price, results within 24 h)');
    assert.equal(batchChoiceLabel(1), 'Reflect 1 record (batch: about half the price, results within 24 h)');
    assert.equal(money(0.0031, 'USD'), '$0.0031');
    assert.equal(money(12.5, 'EUR'), '12.50 EUR');
  });

  it('says a batch left waiting goes on, and names the batches that answered', () => {
    const summary = { records: 0, changed: 0, dropped: 0, failed: 0, calls: 0, promptTokens: 0, completionTokens: 0, cachedReflections: 0 };
    const pending = { results: [], failed: [], cancelled: true, summary, batch: { batchIds: ['batch_7'], submittedRequests: 3, pending: true } };
    assert.match(pendingMessage('data.jsonl', pending), /stopped waiting for the teacher batch of data\.jsonl \(batch_7\)\. It goes on at the teacher; Sift picks it up when this workspace opens again/);
    assert.doesNotMatch(batchSummary(pending), /Cancelled: run the same batch again/, 'nothing was cancelled at the teacher');
    const done = { ...pending, cancelled: false, summary: { ...summary, records: 3, calls: 3 }, batch: { batchIds: ['batch_7', 'batch_9'], submittedRequests: 1, pending: false } };
    assert.match(batchSummary(done), /Answered by teacher batches batch_7, batch_9\./);
  });

  it('summarises a cancelled batch with how to resume', () => {
    const text = batchSummary({
      results: [],
      failed: [],
      cancelled: true,
      summary: { records: 2, changed: 1, dropped: 0, failed: 0, calls: 3, promptTokens: 100, completionTokens: 50, cachedReflections: 1 },
    });
    assert.match(text, /2 records reflected; 1 rewritten/);
    assert.match(text, /run the same batch again to resume/);
  });
});

// ---- settings ----------------------------------------------------------------------------------------

function source(levels: Partial<Record<ReflectionSettingKey, InspectedValue>>) {
  const defaults: Record<ReflectionSettingKey, unknown> = {
    'teacher.baseUrl': '',
    'teacher.model': '',
    'teacher.structuredOutput': 'auto',
    'teacher.maxConcurrency': 4,
    'teacher.promptsFile': '',
    'teacher.priceFile': '',
    'reflection.gateBothBelowOne': false,
  };
  return {
    get: (key: ReflectionSettingKey) => {
      const v = levels[key];
      return v?.workspaceFolderValue ?? v?.workspaceValue ?? v?.globalValue ?? defaults[key];
    },
    inspect: (key: ReflectionSettingKey): InspectedValue => ({ defaultValue: defaults[key], ...levels[key] }),
  };
}

describe('reflection settings', () => {
  it('default to no teacher', () => {
    const settings = resolveReflectionSettings(source({}), true);
    assert.deepEqual(settings, DEFAULT_REFLECTION_SETTINGS);
    assert.match(missingTeacher(settings) ?? '', /no teacher is configured\. Set sift\.teacher\.baseUrl and sift\.teacher\.model/);
  });

  it('ignore workspace values of the teacher URL, model and prompt file in a restricted workspace', () => {
    const levels: Partial<Record<ReflectionSettingKey, InspectedValue>> = {
      'teacher.baseUrl': { workspaceValue: 'http://attacker.example/v1', globalValue: 'https://api.example/v1' },
      'teacher.promptsFile': { workspaceValue: 'prompts.json' },
      'teacher.model': { workspaceValue: 'gpt-x-expensive', globalValue: 'gpt-mini' },
      'teacher.structuredOutput': { workspaceValue: 'off' },
    };
    const restricted = resolveReflectionSettings(source(levels), false);
    assert.equal(restricted.baseUrl, 'https://api.example/v1', "the user's own URL");
    assert.equal(restricted.promptsFile, '');
    assert.equal(restricted.model, 'gpt-mini', "the model billed to the user's key is the user's choice");
    assert.equal(restricted.structuredOutput, 'off', 'harmless settings keep their workspace value');
    const trusted = resolveReflectionSettings(source(levels), true);
    assert.equal(trusted.baseUrl, 'http://attacker.example/v1');
    assert.equal(trusted.promptsFile, 'prompts.json');
    assert.equal(trusted.model, 'gpt-x-expensive');
    assert.match(missingTeacher({ ...DEFAULT_REFLECTION_SETTINGS, model: 'x' }, true) ?? '', /ignored until you trust this workspace/);
  });

  it('replace invalid values by their defaults and check the URL', () => {
    const settings = resolveReflectionSettings(
      source({
        'teacher.structuredOutput': { globalValue: 'maybe' },
        'teacher.maxConcurrency': { globalValue: 2.5 },
        'reflection.gateBothBelowOne': { globalValue: 'yes' },
        'teacher.baseUrl': { globalValue: ' ftp://x ' },
        'teacher.model': { globalValue: ' m ' },
      }),
      true,
    );
    assert.equal(settings.structuredOutput, 'auto');
    assert.equal(settings.maxConcurrency, 4);
    assert.equal(settings.gateBothBelowOne, false);
    assert.equal(settings.baseUrl, 'ftp://x');
    assert.equal(settings.model, 'm');
    assert.match(missingTeacher(settings) ?? '', /not an http\(s\) URL/);
    assert.equal(missingTeacher({ ...settings, baseUrl: 'http://127.0.0.1:8000/v1' }), undefined);
  });

  it('are contributed with a scope, a description, the protocol default, and restricted where they must be', () => {
    let dir = __dirname;
    while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'src', 'client'))) dir = dirname(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const properties = manifest.contributes.configuration.properties as Record<string, { scope?: string; markdownDescription?: string; default?: unknown; enum?: unknown[] }>;
    for (const [key, field] of Object.entries(REFLECTION_SETTING_KEYS)) {
      const property = properties[`sift.${key}`];
      assert.ok(property, `sift.${key} is contributed`);
      assert.ok(['resource', 'machine-overridable'].includes(property.scope ?? ''), `sift.${key} has a scope`);
      assert.ok((property.markdownDescription ?? '').length > 20, `sift.${key} has a markdownDescription`);
      assert.deepEqual(property.default, DEFAULT_REFLECTION_SETTINGS[field], `default of sift.${key}`);
    }
    assert.deepEqual(properties['sift.teacher.structuredOutput'].enum, STRUCTURED_OUTPUT_VALUES);
    for (const key of RESTRICTED_REFLECTION_KEYS) assert.ok(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(`sift.${key}`));
    assert.ok(manifest.activationEvents.includes('onWebviewPanel:siftReflection'), 'the panel serializer can activate the extension');
  });
});
