import type { SourceLocation } from '../util/index.js';

/** One build-check finding: BuildKit's rule name, its one-line description and this occurrence's message. */
export interface LintWarning {
  rule: string;
  /** The rule's description (BuildKit's wording, without its documentation URL). */
  description: string;
  message: string;
  /** Where: the instruction's lines, `column` at the offending word when known. */
  location: SourceLocation & { column: number };
}

/** A rule's identity as listed by `tsbuild build --check` and skipped by `# check=skip=Name`. */
export interface RuleInfo {
  name: string;
  description: string;
  /** Off unless named in `# check=experimental=Name` (none yet). */
  experimental?: boolean;
}

/** The `# check=` directive: rules skipped (or 'all') and whether warnings fail the check. */
export interface CheckDirective {
  skip: Set<string> | 'all';
  error: boolean;
}
