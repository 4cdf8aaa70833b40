/**
 * How final answers are read (answers.ts reads them). `numeric`: GSM8K-style numbers; `choice`: an
 * option A–E; `math`: the last `\boxed{…}`, compared after the Hendrycks MATH normalisation; `field`:
 * the CANDIDATES file's own `answer` (and `gold`) compared as exact strings. Apart from answers.ts so
 * the settings table can name them without pulling the readers into the editor's bundle.
 */
export const ANSWER_FORMATS = ['numeric', 'choice', 'math', 'field'] as const;
export type AnswerFormat = (typeof ANSWER_FORMATS)[number];
