import { vocabularyCostNote } from '../../core/scoring/local/vocabularyCost';
import { basename } from 'node:path';
import { bundledModelPath } from '../../core/scoring/createScorer';
import { LocalScorer } from '../../core/scoring/local/localScorer';
import { lazyChatEngine, LocalChatEngine } from '../../core/serve/localChat';
import { startScoringServer } from '../../core/serve/scoringServer';
import { LocalGenerator } from '../../core/reasoning/sample/localGenerator';
import { lazyGenerator } from '../../core/serve/sampledCompletions';
import { packageRoot } from '../packageRoot';
import { modelFile } from '../settings';
import { UsageError } from '../usage';

export interface ServeFlags {
  model?: string;
  port: string;
  host: string;
  servedModel?: string;
  threads?: string;
  apiKey?: string[];
  allowHost?: string[];
}

export async function serveCommand(flags: ServeFlags): Promise<number> {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port expects a port number (got "${flags.port}")`);
  const threads = flags.threads === undefined ? undefined : Number(flags.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) throw new UsageError('--threads expects a positive integer');
  const modelPath = flags.model ? modelFile(flags.model) : bundledModelPath(packageRoot());
  const scorer = await LocalScorer.load({ modelPath, threads });
  const servedModel = flags.servedModel ?? basename(modelPath).replace(/\.gguf$/i, '');
  // Chat completions (a local teacher) load a generation context on the first request only.
  const chat = lazyChatEngine(() => LocalChatEngine.load({ modelPath, threads }));
  // So does sampling (`n`, `seed`, `temperature` on /v1/completions: a student writing solutions).
  const generator = lazyGenerator(() => LocalGenerator.load({ modelPath, threads }));
  const server = await startScoringServer({
    scorer,
    chat,
    generator,
    servedModel,
    host: flags.host,
    port,
    // vLLM's rule (vllm/entrypoints/openai/api_server.py): "Ensure --api-key option from CLI takes
    // precedence over VLLM_API_KEY".
    apiKeys: flags.apiKey ?? (process.env.VLLM_API_KEY ? [process.env.VLLM_API_KEY] : []),
    allowHosts: flags.allowHost,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const note = vocabularyCostNote(scorer.vocabSize);
  if (note) process.stderr.write(`${note}\n`);
  process.stdout.write(`sift serve: ${servedModel} (${scorer.modelId}) listening on ${server.url}${server.apiKeyRequired ? ' (requests need Authorization: Bearer <key>)' : ''}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  await chat.close();
  await generator.close();
  await scorer.close();
  return 0;
}
