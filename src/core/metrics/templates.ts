import type { TrainingPair, Turn } from '../dataset/types';
import { TEMPLATE_NAMES, TEXT_TEMPLATE_NAMES, type TemplateName, type TextTemplateName } from './types';

export { TEMPLATE_NAMES, TEXT_TEMPLATE_NAMES };

export function isTemplateName(name: string): name is TemplateName {
  return (TEMPLATE_NAMES as readonly string[]).includes(name);
}

// Verbatim from Cherry_LLM (METHODS §2.3). Scores are only comparable when these are byte-exact.
const ALPACA_INPUT_PREAMBLE =
  'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.';
const ALPACA_NO_INPUT_PREAMBLE = 'Below is an instruction that describes a task. Write a response that appropriately completes the request.';
const VICUNA_SYSTEM =
  "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";

// Sift's own wording of the r-IFD reverse instruction (METHODS §4.2 gives the structure, not the
// authors' words). Changing it changes every r-IFD score: bump METHOD_VERSION.
const REVERSE_ASK = 'Guess the instruction that the following response was written to answer.';
const REVERSE_WRITE = 'Write that instruction.';

function systemText(history: readonly Turn[]): string | undefined {
  const system = history.filter((t) => t.role === 'system').map((t) => t.content);
  return system.length > 0 ? system.join('\n') : undefined;
}

/**
 * The context a response is scored after: the template applied to the pair's instruction and input,
 * with earlier turns first. The response follows with NO separator in every template (METHODS §2.3:
 * `whole_text = prompt + output`); in the clean boundary mode the tokenizer sees this string and the
 * response separately and their ids are concatenated, so nothing merges across the boundary (§1.4).
 * A non-empty `input` (exactly `""` is empty, as in the reference code) selects the with-input form.
 *
 * History (multi-turn records; the pair is the last user/assistant exchange): every earlier turn is
 * rendered before the final instruction, each exchange shaped like the final one.
 * - alpaca: system turns (joined by '\n') replace the fixed preamble, as FastChat does with a
 *   system message; user turns are `### Instruction:\n{u}\n\n`, assistant turns
 *   `### Response:{a}\n\n` (response directly after the marker, as in the final turn).
 * - vicuna: FastChat vicuna_v1.1: system turns replace the system line; `USER: {u} ` and
 *   `ASSISTANT: {a}</s>`.
 * - wizardlm: system and user turns `{text}\n\n`, assistant turns `### Response:{a}\n\n`.
 * - plain: every earlier turn's content followed by '\n'.
 */
export function renderPrompt(template: TextTemplateName, pair: TrainingPair): string {
  const { instruction, input, history } = pair;
  const hasInput = input !== '';
  switch (template) {
    case 'alpaca': {
      const preamble = systemText(history) ?? (hasInput ? ALPACA_INPUT_PREAMBLE : ALPACA_NO_INPUT_PREAMBLE);
      let text = `${preamble}\n\n`;
      for (const turn of history) {
        if (turn.role === 'user') text += `### Instruction:\n${turn.content}\n\n`;
        else if (turn.role === 'assistant') text += `### Response:${turn.content}\n\n`;
      }
      text += `### Instruction:\n${instruction}\n\n`;
      if (hasInput) text += `### Input:\n${input}\n\n`;
      return `${text}### Response:`;
    }
    case 'vicuna': {
      let text = `${systemText(history) ?? VICUNA_SYSTEM} `;
      for (const turn of history) {
        if (turn.role === 'user') text += `USER: ${turn.content} `;
        else if (turn.role === 'assistant') text += `ASSISTANT: ${turn.content}</s>`;
      }
      return `${text}USER: ${instruction}${hasInput ? `\nInput:\n${input}` : ''} ASSISTANT:`;
    }
    case 'wizardlm': {
      let text = '';
      for (const turn of history) text += turn.role === 'assistant' ? `### Response:${turn.content}\n\n` : `${turn.content}\n\n`;
      return `${text}${instruction}${hasInput ? `\n${input}` : ''}\n\n### Response:`;
    }
    case 'plain': {
      let text = '';
      for (const turn of history) text += `${turn.content}\n`;
      return `${text}${instruction}\n${hasInput ? `${input}\n` : ''}`;
    }
  }
}

/**
 * The reverse prompt y' of r-IFD (METHODS §4.2): one sentence asking to guess the instruction the
 * response answers, '\n', the response, '\n', one sentence asking to write it, wrapped in the
 * template's no-input form without history. The instruction text x is appended with no separator.
 */
export function renderReversePrompt(template: TextTemplateName, response: string): string {
  return renderPrompt(template, { instruction: reverseInstruction(response), input: '', response: '', history: [] });
}

/** The reverse instruction of r-IFD (METHODS §4.2) before any template wraps it. */
export function reverseInstruction(response: string): string {
  return `${REVERSE_ASK}\n${response}\n${REVERSE_WRITE}`;
}

/**
 * The x of r-IFD: the instruction, plus '\n' and the input when there is one. The authors' code
 * concatenates `instruction + input` with no separator (METHODS §4.2), which glues the last word of
 * the instruction to the first of the input; Sift's clean mode deliberately keeps them apart.
 * `faithful: true` reproduces the authors' concatenation.
 */
export function instructionText(pair: Pick<TrainingPair, 'instruction' | 'input'>, options: { faithful?: boolean } = {}): string {
  if (options.faithful) return pair.instruction + pair.input;
  return pair.input === '' ? pair.instruction : `${pair.instruction}\n${pair.input}`;
}

/**
 * The literal marker the Cherry v1 direct score is conditioned on (METHODS §2.2:
 * `'### Response:' + output`; `'ASSISTANT:'` in the Vicuna scripts), used by the faithful IFD-loss
 * mode. '' for plain: the Superfiltering direct score is the response alone.
 */
export function directResponsePrefix(template: TextTemplateName): string {
  switch (template) {
    case 'alpaca':
    case 'wizardlm':
      return '### Response:';
    case 'vicuna':
      return 'ASSISTANT:';
    case 'plain':
      return '';
  }
}
