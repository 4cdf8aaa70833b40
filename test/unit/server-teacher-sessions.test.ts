/**
 * The teacher's prompt file is a per-folder setting path: a relative `promptsFile` is read from the
 * workspace folder of the dataset being reflected, so two folders with prompt files of their own
 * each get theirs (and a folder without one gets the error naming its own path).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { DEFAULT_REFLECTION_SETTINGS } from '../../src/protocol';
import { DEFAULT_PROMPTS, promptsFromOverride } from '../../src/core/reflect/prompts';
import { SiftDocument } from '../../src/server/document';
import { TeacherSessions } from '../../src/server/reflection/sessions';
import { tempDir } from '../helpers/paths';

const dir = tempDir('sift-prompts-folders-');
const folders = { a: join(dir, 'a'), b: join(dir, 'b'), c: join(dir, 'c') };
for (const folder of Object.values(folders)) mkdirSync(folder);

/** A valid override that differs per folder in its instruction prompt. */
function override(name: string): { instruction: { system: string; user: string } } {
  return { instruction: { system: `You are teacher ${name}.`, user: DEFAULT_PROMPTS.instruction.user } };
}
writeFileSync(join(folders.a, 'prompts.json'), JSON.stringify(override('A')));
writeFileSync(join(folders.b, 'prompts.json'), JSON.stringify(override('B')));

function dataset(folder: string): SiftDocument {
  return new SiftDocument(pathToFileURL(join(folder, 'data.jsonl')).href, 1, '', undefined);
}

const sessions = new TeacherSessions(
  (doc) => Object.values(folders).find((folder) => doc.path?.startsWith(folder + '/')),
  () => undefined,
);
sessions.configure({ ...DEFAULT_REFLECTION_SETTINGS, baseUrl: 'http://127.0.0.1:9/v1', model: 'teacher', promptsFile: 'prompts.json' });

after(() => sessions.flush());

test("each dataset's relative promptsFile is read from its own folder", async () => {
  const [a, b] = await Promise.all([sessions.session(dataset(folders.a)), sessions.session(dataset(folders.b))]);
  assert.equal(a.prompts.instruction.system, 'You are teacher A.');
  assert.equal(b.prompts.instruction.system, 'You are teacher B.');
  assert.equal(a.prompts.version, promptsFromOverride(override('A')).version);
  assert.notEqual(a.prompts.version, b.prompts.version);
});

test('a folder without the file gets an error naming its own path', async () => {
  await assert.rejects(sessions.session(dataset(folders.c)), (error: Error) => {
    assert.match(error.message, /cannot read prompt file/);
    assert.ok(error.message.includes(join(folders.c, 'prompts.json')), error.message);
    return true;
  });
});
