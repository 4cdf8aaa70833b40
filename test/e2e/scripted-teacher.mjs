// A scripted OpenAI-compatible teacher for the reflection checks: real HTTP on 127.0.0.1, started
// by the check itself.
import http from 'node:http';

/**
 * A scripted OpenAI-compatible teacher on 127.0.0.1 (real HTTP, started by the check itself): it
 * requires `key` as a Bearer token and answers a response reflection with `rewrite(response)`, as
 * JSON when the request asks for a schema and as Sift's delimited sections otherwise.
 */
export async function startScriptedTeacher({ key, rewrite }) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const send = (status, body) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.headers.authorization !== `Bearer ${key}`) return send(401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error' } });
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const user = body.messages.filter(m => m.role === 'user').map(m => m.content).join('\n');
    const shown = /----- ANSWER -----\n([\s\S]*?)\n----- END OF ANSWER -----/.exec(user)?.[1] ?? '';
    const structured = body.response_format?.type === 'json_schema';
    const isInstruction = body.response_format?.json_schema?.name === 'sift_instruction_reflection' || user.includes('<<<NEW INSTRUCTION>>>');
    requests.push({ structured, isInstruction });
    const critique = 'Helpfulness: fine. Relevance: fine. Accuracy: fine. Level of detail: could say more.';
    const response = rewrite(shown);
    const content = isInstruction
      ? structured
        ? JSON.stringify({ critique, instruction: 'Tell a longer story.', response })
        : `<<<CRITIQUE>>>\n${critique}\n<<<NEW INSTRUCTION>>>\nTell a longer story.\n<<<NEW ANSWER>>>\n${response}\n<<<END>>>`
      : structured
        ? JSON.stringify({ critique, response })
        : `<<<CRITIQUE>>>\n${critique}\n<<<BETTER ANSWER>>>\n${response}\n<<<END>>>`;
    send(200, {
      id: `chatcmpl-e2e-${requests.length}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
    });
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/v1`,
    requests,
    close: () => new Promise(resolve => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
