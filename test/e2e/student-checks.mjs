// The Choose Student Model quick pick in a real VS Code: the bundled model, the recommended
// downloads with their sizes, a file on disk and an endpoint. Nothing is downloaded here (no
// network in tests): the download itself is tested on loopback in test/integration/model-pull.test.ts.
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

export const studentChecks = [
  {
    name: 'Choose Student Model lists the bundled model, the recommended downloads with sizes, a file and an endpoint',
    timeoutMs: 60_000,
    async run({ page, options: o, shot }) {
      await h.openFile(page, o.scoredFile);
      await h.runCommandInPalette(page, 'Sift: Choose Student Model');
      const rows = page.locator(h.SEL.quickInputRow);
      await page.locator(h.SEL.quickInputRow, { hasText: 'Qwen2.5 0.5B Instruct' }).first().waitFor({ timeout: 20_000 });
      const texts = await rows.allInnerTexts();
      const joined = texts.join('\n');
      assert.match(joined, /TinyStories 260K[\s\S]*bundled demo \(in use\)/);
      assert.match(joined, /Qwen2\.5 0\.5B Instruct \(Q4_K_M\)[\s\S]*398 MB/);
      assert.match(joined, /SmolLM2 360M Instruct[\s\S]*386 MB/);
      assert.match(joined, /A GGUF file on disk/);
      await shot('student-model-pick');
      await h.dismiss(page);
    },
  },
];
