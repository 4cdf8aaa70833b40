// The transport's share of the client ceiling, measured another way: a bare client sends the same
// number of /tokenize calls (texts of the same mean length), /v1/completions/render calls (the same
// texts per call, of the same mean length) and /v1/completions calls (the same prompts and tokens
// per call) as a `sift score` run did, through the same HTTP library (undici's
// dispatcher, the same options as core/net/fetchText.ts), and drops every body unread. Its
// CPU-seconds are what moving those bytes costs on this machine before Sift parses or scores anything.
//
//   node bench/fleet/transportFloor.mjs '<json: { urls, tokenizeCalls, tokenizeChars, renderCalls, renderTexts, renderChars, requests, prompts, tokens }>'
//   prints { cpuSeconds, systemSeconds, bytes }
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Agent } from 'undici';
import { rng } from './data.mjs';
import { fleetTokenize } from './model.mjs';

const CONCURRENCY = 32;

/** Runs the replay in its own process (so its CPU time is its own) and returns what it measured. */
export async function measureTransportFloor(traffic) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(traffic)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the transport floor exited ${code}`);
  return JSON.parse(out);
}

async function replay({ urls, tokenizeCalls, tokenizeChars, renderCalls = 0, renderTexts = 0, renderChars = 0, requests, prompts, tokens }) {
  const agent = new Agent({ keepAliveTimeout: 4000, keepAliveMaxTimeout: 4000, headersTimeout: 0, bodyTimeout: 0 });
  let bytes = 0;
  const call = (url, path, body) =>
    new Promise((resolve, reject) => {
      agent.dispatch(
        { origin: url, path, method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json' }, body },
        {
          onRequestStart() {},
          onResponseStart() {},
          onResponseData(_c, chunk) {
            bytes += chunk.length;
          },
          onResponseEnd: resolve,
          onResponseError: (_c, e) => reject(e),
        },
      );
    });
  const next = rng(5);
  // The bodies are built before the clock starts: building them is not the transport's work.
  const text = 'the a model data set record answer question explain why how when where list write short long '.repeat(200);
  const meanChars = Math.max(1, Math.round(tokenizeChars / Math.max(1, tokenizeCalls)));
  /** A text of about `mean` characters (between half and one and a half times). */
  const sampleText = (mean) => text.slice(0, Math.min(text.length, Math.round(mean * (0.5 + next()))));
  const tokenizeBodies = Array.from({ length: tokenizeCalls }, () => JSON.stringify({ model: 'fleet-model', prompt: sampleText(meanChars), add_special_tokens: false }));
  const textsPerRender = Math.max(1, Math.round(renderTexts / Math.max(1, renderCalls)));
  const meanRenderChars = Math.max(1, Math.round(renderChars / Math.max(1, renderTexts)));
  const renderBodies = Array.from({ length: renderCalls }, () =>
    JSON.stringify({
      model: 'fleet-model',
      prompt: Array.from({ length: textsPerRender }, () => sampleText(meanRenderChars)),
      max_tokens: 1,
      add_special_tokens: false,
    }),
  );
  // Ids the replayed texts tokenize to, so that the fleet writes their pieces as decoded tokens.
  const known = fleetTokenize(text, false);
  const completionBodies = [];
  const perRequest = Math.max(1, Math.round(prompts / Math.max(1, requests)));
  const perPrompt = Math.max(2, Math.round(tokens / Math.max(1, prompts)));
  for (let r = 0; r < requests; r++) {
    const batch = Array.from({ length: perRequest }, () => Array.from({ length: perPrompt }, (_, j) => (j === 0 ? 1 : known[Math.floor(next() * known.length)])));
    completionBodies.push(JSON.stringify({ model: 'fleet-model', prompt: batch, max_tokens: 1, prompt_logprobs: 0, temperature: 0 }));
  }
  const start = process.cpuUsage();
  const run = async (bodies, path) => {
    let i = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (i < bodies.length) {
          const k = i++;
          await call(urls[k % urls.length], path, bodies[k]);
        }
      }),
    );
  };
  await run(tokenizeBodies, '/tokenize');
  await run(renderBodies, '/v1/completions/render');
  await run(completionBodies, '/v1/completions');
  const used = process.cpuUsage(start);
  await agent.close();
  return { cpuSeconds: (used.user + used.system) / 1e6, systemSeconds: used.system / 1e6, bytes, tokens: requests * perRequest * perPrompt };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(JSON.stringify(await replay(JSON.parse(process.argv[2]))));
}
