import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bindTo,
  consentQuestion,
  keyFor,
  originOf,
  parseStoredKey,
  serializeKey,
  unapprovedOrigins,
  withheldMessage,
  workspaceOrigins,
} from '../../src/client/endpointTrustModel';

describe('keys go only where they were given', () => {
  it('origins are scheme, host and port; other schemes have none', () => {
    assert.equal(originOf('https://api.openai.com/v1?x=1'), 'https://api.openai.com');
    assert.equal(originOf(' http://gpu:8000/v1 '), 'http://gpu:8000');
    assert.equal(originOf('https://api.openai.com:443/v1'), 'https://api.openai.com');
    assert.equal(originOf('file:///etc/passwd'), undefined);
    assert.equal(originOf('not a url'), undefined);
  });

  it('a key is sent to the origins it is bound to, and nowhere else', () => {
    const stored = { key: 'sk-1', origins: ['https://gpu.example:8000'] };
    assert.deepEqual(keyFor(stored, ['https://gpu.example:8000/v1']), { kind: 'send', key: 'sk-1' });
    assert.deepEqual(keyFor(stored, ['https://attacker.example/v1']), { kind: 'withheld', boundTo: ['https://gpu.example:8000'], unbound: ['https://attacker.example'] });
    // Another port or scheme is another origin.
    assert.equal(keyFor(stored, ['http://gpu.example:8000']).kind, 'withheld');
    assert.equal(keyFor(stored, ['https://gpu.example:8001']).kind, 'withheld');
    // One replica elsewhere withholds the key from all (the server sends one key to every replica).
    assert.equal(keyFor(stored, ['https://gpu.example:8000', 'https://other.example']).kind, 'withheld');
    assert.deepEqual(keyFor(stored, []), { kind: 'none' });
    assert.deepEqual(keyFor(undefined, ['https://gpu.example:8000']), { kind: 'none' });
  });

  it('a key the user confirms for another origin is bound to both', () => {
    const bound = bindTo({ key: 'sk-1', origins: ['https://a.example'] }, ['https://b.example', 'https://a.example']);
    assert.deepEqual(bound.origins, ['https://a.example', 'https://b.example']);
    assert.equal(keyFor(bound, ['https://b.example/v1']).kind, 'send');
  });

  it('stored keys round-trip; a key stored before binding (a plain string) is bound nowhere', () => {
    const stored = { key: 'sk-"quoted"', origins: ['https://a.example'] };
    assert.deepEqual(parseStoredKey(serializeKey(stored)), stored);
    const legacy = parseStoredKey('sk-plain-old-key');
    assert.deepEqual(legacy, { key: 'sk-plain-old-key', origins: [] });
    const decision = keyFor(legacy, ['https://a.example']);
    assert.equal(decision.kind, 'withheld');
    assert.match(withheldMessage('scoring', decision as Extract<typeof decision, { kind: 'withheld' }>), /stored before Sift bound keys.*not sent to https:\/\/a\.example/);
    assert.equal(parseStoredKey(undefined), undefined);
    assert.equal(parseStoredKey(''), undefined);
  });
});

describe('endpoints from workspace settings need the user\'s yes', () => {
  it('an origin only the workspace sets needs consent; the user\'s own does not', () => {
    assert.deepEqual(workspaceOrigins({ workspaceValue: ['http://evil.example:9000/v1', 'http://gpu:8000'], globalValue: ['http://gpu:8000'] }), ['http://evil.example:9000']);
    assert.deepEqual(workspaceOrigins({ workspaceFolderLanguageValue: 'https://teacher.example/v1' }), ['https://teacher.example']);
    assert.deepEqual(workspaceOrigins({ globalValue: 'https://api.openai.com/v1' }), []);
    assert.deepEqual(workspaceOrigins(undefined), []);
  });

  it('until approved, a workspace origin is pending; declined stays pending; approved is used', () => {
    const fromWorkspace = ['http://evil.example:9000'];
    const urls = ['http://evil.example:9000/v1', 'http://gpu:8000'];
    assert.deepEqual(unapprovedOrigins(urls, fromWorkspace, () => undefined), ['http://evil.example:9000']);
    assert.deepEqual(unapprovedOrigins(urls, fromWorkspace, () => false), ['http://evil.example:9000']);
    assert.deepEqual(unapprovedOrigins(urls, fromWorkspace, (o) => o === 'http://evil.example:9000'), []);
    assert.deepEqual(unapprovedOrigins(['http://gpu:8000'], fromWorkspace, () => undefined), [], 'the user\'s own endpoint needs no consent');
  });

  it('the question names the endpoint and what is sent there', () => {
    assert.match(consentQuestion('scoring', 'http://evil.example:9000'), /datasets.*http:\/\/evil\.example:9000.*sift\.endpointUrls/);
    assert.match(consentQuestion('teacher', 'https://t.example'), /https:\/\/t\.example.*sift\.teacher\.baseUrl/);
  });
});
