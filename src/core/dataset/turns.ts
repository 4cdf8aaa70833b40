import type { TrainingPair } from './types';

/**
 * Every assistant turn of a record as a pair of its own, in order, the record's pair last: turn k's
 * response is its content, its instruction the user turn right before it ('' when there is none),
 * its history every turn before that. A single-turn record gives itself alone. This is what
 * multi-turn scoring scores: each answer given the whole conversation before it.
 */
export function assistantTurns(pair: TrainingPair): TrainingPair[] {
  const turns: TrainingPair[] = [];
  pair.history.forEach((turn, i) => {
    if (turn.role !== 'assistant') return;
    const asked = i > 0 && pair.history[i - 1].role === 'user';
    turns.push({
      instruction: asked ? pair.history[i - 1].content : '',
      input: '',
      response: turn.content,
      history: pair.history.slice(0, asked ? i - 1 : i),
    });
  });
  turns.push(pair);
  return turns;
}
