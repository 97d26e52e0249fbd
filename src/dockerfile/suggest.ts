/** Levenshtein edit distance between two strings (by code point). */
export function levenshtein(a: string, b: string): number {
  const s = Array.from(a);
  const t = Array.from(b);
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[t.length]!;
}

function matchCase(candidate: string, original: string): string {
  if (original === original.toLowerCase()) return candidate.toLowerCase();
  if (original === original.toUpperCase()) return candidate.toUpperCase();
  return candidate;
}

/**
 * Did-you-mean: the closest candidate within edit distance 2 (BuildKit's rule), or undefined when the word is
 * itself a candidate or nothing is close. Case-insensitive unless `caseSensitive`; the answer follows the word's case.
 */
export function suggest(word: string, candidates: string[], options: { caseSensitive?: boolean } = {}): string | undefined {
  const fold = (s: string) => (options.caseSensitive ? s : s.toLowerCase());
  const w = fold(word);
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const f = fold(c);
    if (f === w) return undefined;
    const d = levenshtein(w, f);
    if (d < bestDistance) {
      bestDistance = d;
      best = options.caseSensitive ? c : matchCase(c, word);
    }
  }
  return best;
}
