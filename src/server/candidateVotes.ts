import type { AnswerFormat } from '../core/reasoning/answerFormats';
import { readAnswer, type Answer } from '../core/reasoning/answers';
import { checkCandidate } from '../core/reasoning/candidate';
import { voteQuestions, type QuestionResult } from '../core/reasoning/questionVotes';
import type { SourcedCandidate } from '../core/reasoning/readCandidates';
import { candidatesOverview } from '../core/overview/candidates';
import type { CandidatesOverview } from '../core/overview/types';
import { candidateClass, CANDIDATE_CLASSES, type CandidateClass } from '../core/reasoning/candidateClass';
import type { ScoreBucket, VoteColour } from '../protocol';
import type { SiftDocument } from './document';
import { BUCKET_COLOUR_NAMES } from './presentation';

/**
 * What is held of a question's vote: no candidate texts (they are the document's lines) and no other
 * fields of the records (a `sift sample` line carries its whole few-shot prompt): per candidate its
 * answer, and per question the tally and the gold.
 */
export type HeldVote = Pick<QuestionResult, 'questionId' | 'answers' | 'vote' | 'goldText' | 'gold' | 'correct' | 'majorityCorrect'>;

/** A candidate line's place in its question's vote. */
export interface CandidateVote {
  result: HeldVote;
  /** Its index among the question's candidates. */
  position: number;
}

/** A line as the vote needs it: the record without its texts, and its answer; null for a line that is not a valid candidate. */
type ReadLine = { record: SourcedCandidate['record']; answer: Answer | null } | null;

interface Cached {
  version: number;
  format: AnswerFormat;
  byLine: Map<number, CandidateVote>;
  questions: HeldVote[];
  /** Each line text read (keys are the document's own strings): an edit reads only the lines it changed. */
  byText: Map<string, ReadLine>;
}

// One vote per document version and answer format: a hover or a screen of labels asks many times.
const cache = new WeakMap<SiftDocument, Cached>();

function readLine(text: string, format: AnswerFormat): ReadLine {
  try {
    const { question_id, candidate, answer, gold, sample_index } = checkCandidate(JSON.parse(text));
    // Only what the vote reads; the candidate text is let go once its answer is read.
    return { record: { question_id, question: '', candidate: '', answer, gold, sample_index }, answer: readAnswer(candidate, { format }, answer) };
  } catch {
    // Its diagnostics say what is wrong with it.
    return null;
  }
}

/**
 * The vote of every candidate line of a CANDIDATES document (format `candidates`), by 0-based line;
 * undefined for other formats. Lines that are not valid candidates take no part, as in the CLI.
 */
export function candidateVotes(doc: SiftDocument, format: AnswerFormat): Map<number, CandidateVote> | undefined {
  if (doc.records.format.name !== 'candidates') return undefined;
  const cached = cache.get(doc);
  if (cached && cached.version === doc.version && cached.format === format) return cached.byLine;
  const earlier = cached?.format === format ? cached.byText : undefined;
  const byText = new Map<string, ReadLine>();
  const candidates: SourcedCandidate[] = [];
  const readAnswers = new Map<SourcedCandidate, Answer | null>();
  for (let i = 0; i < doc.records.lineCount; i++) {
    const line = doc.records.line(i)!;
    if (line.blank || !line.scorable) continue;
    let read = byText.get(line.text) ?? earlier?.get(line.text);
    if (read === undefined) read = readLine(line.text, format);
    byText.set(line.text, read);
    if (read === null) continue;
    // `line` holds the 0-based editor line here: it is only used as this map's key.
    const candidate = { record: read.record, line: i };
    candidates.push(candidate);
    readAnswers.set(candidate, read.answer);
  }
  const byLine = new Map<number, CandidateVote>();
  const questions: HeldVote[] = [];
  for (const { candidates: group, questionId, answers, vote, goldText, gold, correct, majorityCorrect } of voteQuestions(candidates, { reading: { format }, answerOf: (c) => readAnswers.get(c) ?? null })) {
    const result: HeldVote = { questionId, answers, vote, goldText, gold, correct, majorityCorrect };
    questions.push(result);
    group.forEach((c, position) => byLine.set(c.line, { result, position }));
  }
  cache.set(doc, { version: doc.version, format, byLine, questions, byText });
  return byLine;
}

export function voteClass({ result, position }: CandidateVote): CandidateClass {
  return candidateClass(result.correct?.[position], result.vote.agrees[position]);
}

/**
 * The one definition of a candidate line's colour: the score colour bucket its class takes (a
 * CANDIDATES line is coloured by the vote, not by its scores). Green: correct; yellow: kept by
 * self-consistency without being known correct; red: what self-consistency drops.
 */
export const VOTE_BUCKETS: Record<CandidateClass, Extract<ScoreBucket, 0 | 1 | 2 | 3 | 4>> = { correct: 0, majority: 2, minority: 4 };

const CLASS_MEANINGS: Record<CandidateClass, string> = {
  correct: 'correct (its answer equals the gold answer)',
  majority: "not known correct, agrees with its question's majority answer (self-consistency keeps it)",
  minority: 'neither (a minority answer, or no readable answer: self-consistency drops it)',
};

/** Each class with its colour bucket, the colour in words and what it means: the legends of the hover and the overview. */
export function voteColours(): VoteColour[] {
  return CANDIDATE_CLASSES.map((c) => ({ class: c, bucket: VOTE_BUCKETS[c], colour: BUCKET_COLOUR_NAMES[VOTE_BUCKETS[c]], meaning: CLASS_MEANINGS[c] }));
}

/** The words for the colours of candidate lines, for the hover. */
export function voteLegend(): string {
  return `**Colours** · a candidate is coloured by the vote, not by its scores: ${voteColours().map((c) => `${c.colour} = ${c.meaning}`).join('; ')}.`;
}

/** The whole file's votes for the overview; undefined for a file that is not a CANDIDATES file. */
export function candidatesSummary(doc: SiftDocument, format: AnswerFormat): CandidatesOverview | undefined {
  if (!candidateVotes(doc, format)) return undefined;
  return candidatesOverview(cache.get(doc)!.questions.map((q) => ({ agreement: q.vote.agreement, agrees: q.vote.agrees, correct: q.correct, majorityCorrect: q.majorityCorrect })));
}

function percent(x: number): string {
  return `${Math.round(x * 100)}%`;
}

/** The end-of-line words for a candidate: its answer, majority or not, and against gold. */
export function voteLabel({ result, position }: CandidateVote): string {
  const answer = result.answers[position];
  const v = result.vote;
  const gold = result.correct === undefined ? '' : result.correct[position] ? ' · correct' : ' · wrong';
  if (answer === null) return `no answer${gold}`;
  const side = v.agrees[position] ? `majority ${v.majorityCount}/${v.parsed}` : `minority (majority ${v.majority!.text})`;
  return `${answer.text} · ${side}${gold}`;
}

/** The hover section of a candidate line. Texts from the file are shown as code. */
export function voteHover({ result, position }: CandidateVote, format: AnswerFormat): string {
  const v = result.vote;
  const answer = result.answers[position];
  const lines: string[] = [];
  const head = `**Vote** · question ${code(result.questionId)} · ${v.candidates} candidate${v.candidates === 1 ? '' : 's'}, ${v.parsed} with a readable ${format} answer`;
  lines.push(head);
  if (v.majority === null) {
    lines.push('No candidate of this question has a readable answer: there is no majority.');
  } else {
    const tie = v.tied.length > 1 ? ` (a tie with ${v.tied.slice(1).map((a) => code(a.text)).join(', ')}: the first seen wins)` : '';
    lines.push(`Majority ${code(v.majority.text)}: ${v.majorityCount} of ${v.parsed}, agreement ${percent(v.agreement!)}${tie}; normalised entropy ${v.normalizedEntropy === null ? '— (fewer than 2 answers)' : v.normalizedEntropy.toFixed(3)}`);
    lines.push(`Answers: ${v.tally.map((t) => `${code(t.answer.text)} ×${t.count}`).join(', ')}`);
  }
  if (answer === null) lines.push('This candidate: no readable final answer (it takes no part in the vote).');
  else lines.push(`This candidate: ${code(answer.text)} — ${v.agrees[position] ? 'agrees with the majority (kept by self-consistency)' : 'disagrees with the majority (dropped by self-consistency)'}`);
  if (result.goldText !== undefined) {
    if (result.correct === undefined) lines.push('Gold: the gold answer could not be read.');
    else lines.push(`Gold ${code(result.gold?.text ?? '')}: this candidate is ${result.correct[position] ? '**correct** (positive data)' : '**wrong** (negative data)'}; the majority is ${result.majorityCorrect ? 'correct' : 'wrong'}`);
  }
  return lines.join('  \n');
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'").replace(/\n/g, ' ')}\``;
}
