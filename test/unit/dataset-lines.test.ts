import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  lineEndingOf,
  readFileLines,
  readStreamLineBatches,
  splitDocumentLines,
  type SourceLine,
} from '../../src/core/dataset';
import { firstInvalidUtf8Byte } from '../../src/core/dataset/utf8';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function linesOfChunks(chunks: Uint8Array[]): Promise<SourceLine[]> {
  async function* source(): AsyncGenerator<Uint8Array> {
    yield* chunks;
  }
  return (await collect(readStreamLineBatches(source()))).flat();
}

const view = (lines: SourceLine[]) => lines.map((l) => [l.line, l.text, l.offset, l.eol]);

describe('splitDocumentLines', () => {
  it('splits LF text and gives UTF-16 offsets', () => {
    assert.deepEqual(view(splitDocumentLines('{"a":1}\n{"é😀":2}\n{"c":3}')), [
      [1, '{"a":1}', 0, '\n'],
      [2, '{"é😀":2}', 8, '\n'],
      [3, '{"c":3}', 18, ''],
    ]);
  });

  it('treats CRLF, LF and a lone CR as line breaks, as VS Code does', () => {
    assert.deepEqual(view(splitDocumentLines('a\r\nb\rc\nd')), [
      [1, 'a', 0, '\r\n'],
      [2, 'b', 3, '\r'],
      [3, 'c', 5, '\n'],
      [4, 'd', 7, ''],
    ]);
  });

  it('strips a BOM from line 1 while offsets stay relative to the original text', () => {
    const lines = splitDocumentLines('\ufeff{"a":1}\r\n{"b":2}\r\n');
    assert.deepEqual(view(lines), [
      [1, '{"a":1}', 1, '\r\n'],
      [2, '{"b":2}', 10, '\r\n'],
      [3, '', 19, ''],
    ]);
  });

  it('keeps trailing blank lines and the empty last line the editor shows', () => {
    assert.deepEqual(
      splitDocumentLines('x\n\n  \n').map((l) => l.text),
      ['x', '', '  ', ''],
    );
    assert.deepEqual(view(splitDocumentLines('')), [[1, '', 0, '']]);
    assert.deepEqual(view(splitDocumentLines('\n')), [
      [1, '', 0, '\n'],
      [2, '', 1, ''],
    ]);
  });

  it('reassembles the original text from text + eol', () => {
    const text = '\ufeffa\r\nb\n\rc\r\r\nd\n';
    const lines = splitDocumentLines(text);
    assert.equal('\ufeff' + lines.map((l) => l.text + l.eol).join(''), text);
    for (const l of lines) assert.equal(text.slice(l.offset, l.offset + l.text.length), l.text);
  });
});

describe('lineEndingOf', () => {
  it('returns the terminator of the first line', () => {
    assert.equal(lineEndingOf('a\r\nb\nc'), '\r\n');
    assert.equal(lineEndingOf('a\nb\r\nc'), '\n');
    assert.equal(lineEndingOf('no break'), '\n');
    assert.equal(lineEndingOf('\nx'), '\n');
  });
});

describe('readStreamLineBatches', () => {
  it('gives byte offsets, strips the BOM and handles CRLF', async () => {
    const lines = await linesOfChunks([Buffer.from('\ufeff{"é":1}\r\n{"b":2}\n', 'utf8')]);
    assert.deepEqual(view(lines), [
      [1, '{"é":1}', 3, '\r\n'],
      [2, '{"b":2}', 13, '\n'],
    ]);
  });

  it('yields nothing for the empty remainder after the final terminator, but keeps blank lines', async () => {
    assert.deepEqual(
      (await linesOfChunks([Buffer.from('a\n\n\n')])).map((l) => l.text),
      ['a', '', ''],
    );
    assert.deepEqual(await linesOfChunks([Buffer.from('')]), []);
    assert.deepEqual(view(await linesOfChunks([Buffer.from('last')])), [[1, 'last', 0, '']]);
  });

  it('joins a CRLF, a multi-byte character and a BOM split across chunks', async () => {
    const bytes = Buffer.from('\ufeff{"a":"é"}\r\n{"b":"😀"}\r', 'utf8');
    // One byte per chunk: every boundary falls somewhere awkward.
    const chunks = [...bytes].map((b) => Uint8Array.of(b));
    assert.deepEqual(view(await linesOfChunks(chunks)), [
      [1, '{"a":"é"}', 3, '\r\n'],
      [2, '{"b":"😀"}', 15, '\r'],
    ]);
  });

  it('agrees with splitDocumentLines on random texts and random chunkings', async () => {
    const next = rng(7);
    const alphabet = ['a', '{', '"', ' ', 'é', '😀', '東', '\n', '\r\n', '\r', '\n\n'];
    for (let round = 0; round < 200; round++) {
      let text = next() < 0.2 ? '\ufeff' : '';
      const len = Math.floor(next() * 40);
      for (let i = 0; i < len; i++) text += alphabet[Math.floor(next() * alphabet.length)];
      const bytes = Buffer.from(text, 'utf8');
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; ) {
        const n = 1 + Math.floor(next() * 5);
        chunks.push(bytes.subarray(i, i + n));
        i += n;
      }
      const fromBytes = await linesOfChunks(chunks);
      let fromText = splitDocumentLines(text);
      // The editor shows an empty line after a final terminator (or in an empty text); a file
      // reader does not.
      if (text === '' || /[\r\n]$/.test(text)) fromText = fromText.slice(0, -1);
      assert.deepEqual(
        fromBytes.map((l) => [l.line, l.text, l.eol]),
        fromText.map((l) => [l.line, l.text, l.eol]),
        JSON.stringify(text),
      );
      for (const [i, l] of fromBytes.entries()) {
        assert.equal(l.offset, Buffer.byteLength(text.slice(0, fromText[i].offset), 'utf8'), JSON.stringify(text));
      }
    }
  });
});

describe('readFileLines', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sift-lines-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reports invalid UTF-8 per line with the byte column of the first bad byte', async () => {
    const path = join(dir, 'bad-utf8.jsonl');
    const prefix = Buffer.from('{"instruction":"caf');
    writeFileSync(
      path,
      Buffer.concat([
        Buffer.from('{"instruction":"ok","output":"fine"}\n'),
        prefix, Buffer.from([0xc3]), Buffer.from('","output":"x"}\n'), // truncated sequence
        Buffer.from('{"a":"é'), Buffer.from([0xff]), Buffer.from('"}\r\n'), // after a 2-byte char
        Buffer.from([0xc0, 0xaf]), Buffer.from('\n'), // overlong "/"
        Buffer.from('{"s":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}\n'), // a surrogate
        Buffer.from('{"ok":"😀"}'),
      ]),
    );
    const lines = await collect(readFileLines(path));
    assert.deepEqual(
      lines.map((l) => [l.line, l.invalidUtf8]),
      [
        [1, undefined],
        [2, { byteColumn: prefix.length, column: prefix.length }],
        [3, { byteColumn: 8, column: 7 }],
        [4, { byteColumn: 0, column: 0 }],
        [5, { byteColumn: 6, column: 6 }],
        [6, undefined],
      ],
    );
    assert.equal(lines[1].text, '{"instruction":"caf\ufffd","output":"x"}');
    assert.equal(lines[2].text, '{"a":"é\ufffd"}');
    assert.equal(lines[2].text[lines[2].invalidUtf8?.column ?? -1], '\ufffd');
    assert.equal(lines[5].text, '{"ok":"😀"}');
    assert.equal(lines[5].offset, 37 + prefix.length + 1 + 16 + 8 + 1 + 4 + 3 + 6 + 3 + 3);
  });

  it('reads a 5 MB line whole, with the right offsets around it', async () => {
    const path = join(dir, 'long.jsonl');
    const big = JSON.stringify({ instruction: 'summarise', output: 'word '.repeat(1_000_000) + 'é' });
    writeFileSync(path, `{"a":1}\n${big}\n{"b":2}\n`);
    const lines = await collect(readFileLines(path));
    assert.equal(lines.length, 3);
    assert.equal(lines[1].text, big);
    assert.equal(lines[1].offset, 8);
    assert.equal(lines[2].offset, 8 + Buffer.byteLength(big) + 1);
    assert.equal(lines[2].text, '{"b":2}');
  });

  it('streams a 200k-line file without holding it in memory', async () => {
    const path = join(dir, 'many.jsonl');
    const lineText = (i: number) => JSON.stringify({ instruction: `question ${i}`, output: 'answer '.repeat(20) + i });
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(path);
      out.on('error', reject);
      out.on('finish', resolve);
      const parts: string[] = [];
      for (let i = 0; i < 200_000; i++) parts.push(lineText(i));
      out.end(parts.join('\n') + '\n');
    });
    const fileBytes = 200_000 * (Buffer.byteLength(lineText(100_000)) + 1);
    // Freed chunks linger until the next collection; collecting before each sample measures what
    // the reader really holds on to.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Buffers the process holds already (the write above may linger) are not the reader's.
    gc();
    const baseline = process.memoryUsage().arrayBuffers;
    let count = 0;
    let offset = 0;
    let peakBuffers = 0;
    for await (const l of readFileLines(path)) {
      count++;
      assert.equal(l.line, count);
      assert.equal(l.offset, offset);
      offset += Buffer.byteLength(l.text) + 1;
      if (count === 1 || count % 10_000 === 0) {
        assert.equal(l.text, lineText(count - 1));
        gc();
        peakBuffers = Math.max(peakBuffers, process.memoryUsage().arrayBuffers - baseline);
      }
    }
    assert.equal(count, 200_000);
    // The file is ~38 MB; a reader that loaded it whole would hold all of it in a Buffer. Streaming
    // holds a few 1 MiB chunks (the stream's read-ahead, the current one, a joined one).
    assert.ok(fileBytes > 30e6);
    assert.ok(peakBuffers < fileBytes / 3, `peak Buffer memory ${peakBuffers} for a ${fileBytes}-byte file`);
  });

  it('stops when its signal aborts', async () => {
    const path = join(dir, 'abort.jsonl');
    writeFileSync(path, '{"a":1}\n'.repeat(300_000));
    const ac = new AbortController();
    let n = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of readFileLines(path, { signal: ac.signal })) {
          if (++n === 10) ac.abort();
        }
      })(),
      { name: 'AbortError' },
    );
    assert.ok(n < 300_000);
  });

  it('reads an empty file as no lines', async () => {
    const path = join(dir, 'empty.jsonl');
    writeFileSync(path, '');
    assert.deepEqual(await collect(readFileLines(path)), []);
  });
});

describe('firstInvalidUtf8Byte', () => {
  it('agrees with the fatal TextDecoder on random bytes', () => {
    const fatal = new TextDecoder('utf-8', { fatal: true });
    const next = rng(42);
    const interesting = [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xa0, 0xed, 0x9f, 0xef, 0xf0, 0x90, 0xf4, 0x8f, 0xf5, 0xff];
    for (let round = 0; round < 5000; round++) {
      const bytes = Uint8Array.from({ length: Math.floor(next() * 8) }, () =>
        next() < 0.7 ? interesting[Math.floor(next() * interesting.length)] : Math.floor(next() * 256),
      );
      const bad = firstInvalidUtf8Byte(bytes);
      let valid = true;
      try {
        fatal.decode(bytes);
      } catch {
        valid = false;
      }
      assert.equal(bad === -1, valid, `${Buffer.from(bytes).toString('hex')}`);
      if (bad >= 0) {
        // Everything before the first bad byte decodes on its own.
        assert.doesNotThrow(() => fatal.decode(bytes.subarray(0, bad)));
      }
    }
  });
});
