import { matchesGold, readAnswer, readGoldAnswer, type Answer, type AnswerReading } from './answers';
import { groupByQuestion, type SourcedCandidate } from './readCandidates';
import { voteOnAnswers, weightedVote, type QuestionVote, type WeightForm, type WeightedVote } from './vote';

/** One question's candidates, their answers, the vote and (when known) the gold answer. */
export interface QuestionResult {
  questionId: string;
  question: string;
  candidates: SourcedCandidate[];
  /** Per candidate, in `candidates` order. */
  answers: (Answer | null)[];
  vote: QuestionVote;
  /** The gold text as given (undefined: no gold for this question). */
  goldText?: string;
  /** The gold answer read from it (null: none could be read). */
  gold?: Answer | null;
  /** Per candidate: does its answer match the gold answer (undefined without a readable gold). */
  correct?: boolean[];
  /** Does the majority (and the weighted vote's answer) match gold; set with `correct`. */
  majorityCorrect?: boolean;
  weightedCorrect?: boolean;
  /** Present when the run had scores for a weighted vote. */
  weighted?: WeightedVote;
}

export interface VoteOptions {
  reading: AnswerReading;
  /** The gold text of a question (its candidates' `gold` field by default). */
  goldOf?: (group: SourcedCandidate[]) => string | undefined;
  /** Per candidate score in (0, 1] for a weighted vote, keyed by the candidate object. */
  scoreOf?: (candidate: SourcedCandidate) => number | null;
  weightForm?: WeightForm;
  /** A candidate's answer when the caller has read it already (the editor reads each line once); default: read with `reading`. */
  answerOf?: (candidate: SourcedCandidate) => Answer | null;
}

/** The first `gold` among a question's candidates. */
export function candidateGold(group: SourcedCandidate[]): string | undefined {
  return group.find((c) => c.record.gold !== undefined)?.record.gold;
}

/** Groups candidates by question and votes on each; questions in order of first appearance. */
export function voteQuestions(candidates: readonly SourcedCandidate[], options: VoteOptions): QuestionResult[] {
  const goldOf = options.goldOf ?? candidateGold;
  return groupByQuestion(candidates).map((group) => {
    const answers = group.map((c) => (options.answerOf ? options.answerOf(c) : readAnswer(c.record.candidate, options.reading, c.record.answer)));
    const result: QuestionResult = {
      questionId: group[0].record.question_id,
      question: group[0].record.question,
      candidates: group,
      answers,
      vote: voteOnAnswers(answers),
    };
    const goldText = goldOf(group);
    if (goldText !== undefined) {
      result.goldText = goldText;
      result.gold = readGoldAnswer(goldText, options.reading);
      const gold = result.gold;
      const compatMissing = options.reading.format === 'math' && options.reading.compat === true;
      if (gold !== null || compatMissing) {
        result.correct = answers.map((a) => matchesGold(a, gold, options.reading));
        result.majorityCorrect = matchesGold(result.vote.majority, gold, options.reading);
      }
    }
    if (options.scoreOf) {
      result.weighted = weightedVote(answers, group.map(options.scoreOf), options.weightForm);
      if (result.correct) result.weightedCorrect = matchesGold(result.weighted.answer, result.gold ?? null, options.reading);
    }
    return result;
  });
}

/** The figures of a vote over a whole file. Rates are null when their denominator is 0. */
export interface VoteSummary {
  questions: number;
  candidates: number;
  /** Candidates with a readable answer. */
  parsed: number;
  /** Questions where no candidate had a readable answer. */
  noAnswer: number;
  /** Questions where every readable answer agreed (at least one readable). */
  unanimous: number;
  /** Questions whose top count is shared by several answers. */
  tied: number;
  meanAgreement: number | null;
  meanNormalizedEntropy: number | null;
  /** Questions with a readable gold answer; the rates below are over them. */
  withGold: number;
  /** Questions whose majority answer matches gold. */
  majorityCorrect: number;
  /** Questions whose weighted-vote answer matches gold (weighted runs only). */
  weightedCorrect?: number;
  /** Questions where at least one candidate matches gold (the best any vote could do). */
  anyCorrect: number;
  /** Candidates (of questions with gold) that match gold, and how many there were. */
  candidatesCorrect: number;
  candidatesWithGold: number;
}

function mean(values: number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

export function summarizeVotes(results: readonly QuestionResult[]): VoteSummary {
  const summary: VoteSummary = {
    questions: results.length,
    candidates: 0,
    parsed: 0,
    noAnswer: 0,
    unanimous: 0,
    tied: 0,
    meanAgreement: null,
    meanNormalizedEntropy: null,
    withGold: 0,
    majorityCorrect: 0,
    anyCorrect: 0,
    candidatesCorrect: 0,
    candidatesWithGold: 0,
  };
  const agreements: number[] = [];
  const entropies: number[] = [];
  const weighted = results.some((r) => r.weighted !== undefined);
  if (weighted) summary.weightedCorrect = 0;
  for (const r of results) {
    summary.candidates += r.vote.candidates;
    summary.parsed += r.vote.parsed;
    if (r.vote.parsed === 0) summary.noAnswer++;
    else if (r.vote.tally.length === 1) summary.unanimous++;
    if (r.vote.tied.length > 1) summary.tied++;
    if (r.vote.agreement !== null) agreements.push(r.vote.agreement);
    if (r.vote.normalizedEntropy !== null) entropies.push(r.vote.normalizedEntropy);
    if (r.correct === undefined) continue;
    summary.withGold++;
    if (r.majorityCorrect) summary.majorityCorrect++;
    if (r.weightedCorrect) summary.weightedCorrect!++;
    if (r.correct.some(Boolean)) summary.anyCorrect++;
    summary.candidatesCorrect += r.correct.filter(Boolean).length;
    summary.candidatesWithGold += r.correct.length;
  }
  summary.meanAgreement = mean(agreements);
  summary.meanNormalizedEntropy = mean(entropies);
  return summary;
}

/** One line of VOTES.jsonl (docs/reasoning.md). */
export function voteRecord(r: QuestionResult): Record<string, unknown> {
  const v = r.vote;
  const record: Record<string, unknown> = {
    question_id: r.questionId,
    question: r.question,
    candidates: v.candidates,
    parsed: v.parsed,
    majority: v.majority?.text ?? null,
    majority_count: v.majorityCount,
    agreement: v.agreement,
    tied: v.tied.map((a) => a.text),
    entropy: v.entropy,
    entropy_normalized: v.normalizedEntropy,
    answers: v.tally.map((t) => ({ answer: t.answer.text, count: t.count, share: t.share })),
  };
  if (r.weighted) {
    record.weighted = {
      answer: r.weighted.answer?.text ?? null,
      total: r.weighted.total,
      tied: r.weighted.tied.map((a) => a.text),
      totals: r.weighted.totals.map((t) => ({ answer: t.answer.text, total: t.total })),
      filled: r.weighted.filled,
    };
  }
  if (r.goldText !== undefined) {
    record.gold = r.gold?.text ?? null;
    record.majority_correct = r.majorityCorrect ?? null;
    if (r.weighted) record.weighted_correct = r.weightedCorrect ?? null;
  }
  record.votes = r.candidates.map((c, i) => {
    const a = r.answers[i];
    const share = a === null ? null : (v.tally.find((t) => t.answer.key === a.key)?.share ?? null);
    const entry: Record<string, unknown> = { sample_index: c.record.sample_index, answer: a?.text ?? null, agrees: v.agrees[i], share };
    if (r.weighted) entry.score = r.weighted.scores[i];
    if (r.correct) entry.correct = r.correct[i];
    if (c.record.model !== undefined) entry.model = c.record.model;
    return entry;
  });
  return record;
}
