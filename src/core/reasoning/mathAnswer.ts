/**
 * MATH final answers: the last `\boxed{…}` of a solution and the Hendrycks MATH normalisation, as
 * Turning Dust into Gold's `code/dataset.py` has it (`last_boxed_only_string`, `remove_boxed`,
 * `_strip_string`, `is_equiv`; METHODS §6.1). Steps that raise in Python (an empty piece after
 * `\sqrt` or `\frac`, two unit texts) throw `MathNormalisationError` here, and the comparison then
 * falls back to the raw strings, as `is_equiv`'s `except` does.
 */

export class MathNormalisationError extends Error {
  override name = 'MathNormalisationError';
}

/**
 * The last `\boxed…` (or, with none, the last `\fbox…`) up to its balanced closing brace, like
 * `last_boxed_only_string`: braces are counted from the command on, so an unclosed last box (a
 * truncated solution) gives null rather than an earlier box.
 */
export function lastBoxedOnlyString(text: string): string | null {
  let at = text.lastIndexOf('\\boxed');
  if (at < 0) at = text.lastIndexOf('\\fbox');
  if (at < 0) return null;
  let open = 0;
  for (let i = at; i < text.length; i++) {
    if (text[i] === '{') open++;
    if (text[i] === '}') {
      open--;
      if (open === 0) return text.slice(at, i + 1);
    }
  }
  return null;
}

/** `remove_boxed`: the inside of `\boxed{…}`; anything else (an `\fbox{…}` included) is null. */
export function removeBoxed(boxed: string | null): string | null {
  const left = '\\boxed{';
  if (boxed === null || !boxed.startsWith(left) || !boxed.endsWith('}')) return null;
  return boxed.slice(left.length, -1);
}

/**
 * Sift's reading of a solution's boxed answer: the content of the last `\boxed{…}` or `\fbox{…}`
 * (TDG reads an `\fbox` as no answer), or after `\boxed ` without braces the next word up to a `$`
 * (the other form the Hendrycks evaluation script reads). Null when there is none or the last one
 * is not closed.
 */
export function boxedAnswer(text: string): string | null {
  const at = text.lastIndexOf('\\boxed');
  const spaced = at < 0 ? null : /^\\boxed ([^$\s{}]+)/.exec(text.slice(at));
  if (spaced !== null) return spaced[1];
  const boxed = lastBoxedOnlyString(text);
  const command = boxed === null ? null : /^\\(?:boxed|fbox)\s*\{/.exec(boxed);
  return command === null ? null : boxed!.slice(command[0].length, -1);
}

function removeRightUnits(s: string): string {
  // "\text{ " only ever describes units in the MATH answers (the original comment); two are an error.
  if (!s.includes('\\text{ ')) return s;
  const parts = s.split('\\text{ ');
  if (parts.length !== 2) throw new MathNormalisationError('more than one "\\text{ " unit');
  return parts[0];
}

function fixSqrt(s: string): string {
  if (!s.includes('\\sqrt')) return s;
  const parts = s.split('\\sqrt');
  let out = parts[0];
  for (const part of parts.slice(1)) {
    const chars = Array.from(part);
    if (chars.length === 0) throw new MathNormalisationError('\\sqrt with nothing after it');
    out += chars[0] !== '{' ? `\\sqrt{${chars[0]}}${chars.slice(1).join('')}` : `\\sqrt${part}`;
  }
  return out;
}

function fixFracs(s: string): string {
  const parts = s.split('\\frac');
  let out = parts[0];
  for (const part of parts.slice(1)) {
    out += '\\frac';
    const chars = Array.from(part);
    if (chars.length === 0) throw new MathNormalisationError('\\frac with nothing after it');
    if (chars[0] === '{') {
      out += part;
      continue;
    }
    // One character only ("\frac1"): the original gives the whole string back unchanged.
    if (chars.length < 2) return s;
    const [a, b] = chars;
    const rest = chars.slice(2).join('');
    out += b !== '{' ? `{${a}}{${b}}${rest}` : `{${a}}${b}${rest}`;
  }
  return out;
}

// Python's `assert string == "{}/{}".format(int(a), int(b))` passes only for canonical integers.
const A_SLASH_B = /^(0|-?[1-9]\d*)\/(0|-?[1-9]\d*)$/;

function fixASlashB(s: string): string {
  const m = A_SLASH_B.exec(s);
  return m === null ? s : `\\frac{${m[1]}}{${m[2]}}`;
}

/**
 * `_strip_string`, step for step: drop line breaks, `\!`, `\left`, `\right`, `^{\circ}`/`^\circ`,
 * `\$`, a right unit `\text{ …}`, `\%`; `\\` → `\`; `tfrac`/`dfrac` → `frac`; " ." → " 0.",
 * "{." → "{0.", a leading "." gets a 0; "k=" style prefixes of at most 2 characters go; `\sqrt3` →
 * `\sqrt{3}`; spaces go; `\frac12` → `\frac{1}{2}`; exactly "0.5" → `\frac{1}{2}`; "a/b" of two
 * integers → `\frac{a}{b}`. Throws `MathNormalisationError` where the Python raises.
 */
export function stripMathString(input: string): string {
  let s = input.replaceAll('\n', '');
  s = s.replaceAll('\\!', '');
  s = s.replaceAll('\\\\', '\\');
  s = s.replaceAll('tfrac', 'frac').replaceAll('dfrac', 'frac');
  s = s.replaceAll('\\left', '').replaceAll('\\right', '');
  s = s.replaceAll('^{\\circ}', '').replaceAll('^\\circ', '');
  s = s.replaceAll('\\$', '');
  s = removeRightUnits(s);
  s = s.replaceAll('\\%', '');
  s = s.replaceAll(' .', ' 0.').replaceAll('{.', '{0.');
  if (s.length === 0) return s;
  if (s[0] === '.') s = '0' + s;
  const sides = s.split('=');
  if (sides.length === 2 && Array.from(sides[0]).length <= 2) s = sides[1];
  s = fixSqrt(s);
  s = s.replaceAll(' ', '');
  s = fixFracs(s);
  if (s === '0.5') s = '\\frac{1}{2}';
  return fixASlashB(s);
}

/**
 * The string two answers are compared by: the normalised answer, or (when normalising raises) the
 * raw answer marked as such, so keys are equal exactly when `is_equiv` says the answers are.
 */
export function mathAnswerKey(answer: string): string {
  try {
    return stripMathString(answer);
  } catch (error) {
    // A line break cannot survive normalisation, so this key never equals a normalised one.
    if (error instanceof MathNormalisationError) return `\nraw\n${answer}`;
    throw error;
  }
}

/** `is_equiv` of TDG's dataset.py, including its rule that two missing answers are equivalent. */
export function isEquivTdg(a: string | null, b: string | null): boolean {
  if (a === null && b === null) return true;
  if (a === null || b === null) return false;
  return mathAnswerKey(a) === mathAnswerKey(b);
}
