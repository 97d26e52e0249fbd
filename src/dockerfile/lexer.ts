import { LexError, replacePattern, trimPrefix, trimSuffix } from './pattern.js';
import { isSpace } from './words.js';

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);
const isDigit = (ch: string) => /^\p{Nd}$/u.test(ch);
const isNameChar = (ch: string) => /^[\p{L}\p{Nd}_]$/u.test(ch);

/** Accumulates both the joined result and the whitespace-split words (quoted text never splits). */
export class Output {
  text = '';
  words: string[] = [];
  private buf = '';
  private inWord = false;
  /** Unquoted text: blanks separate words. */
  add(s: string): void {
    this.text += s;
    for (const ch of s) {
      if (!isSpace(ch)) {
        this.buf += ch;
        this.inWord = true;
      } else if (this.inWord && this.buf !== '') {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
    }
  }
  /** Quoted or escaped text: kept inside the current word. */
  addRaw(s: string): void {
    this.text += s;
    this.buf += s;
    this.inWord = true;
  }
  finish(): string[] {
    if (this.buf !== '') this.words.push(this.buf);
    this.buf = '';
    return this.words;
  }
}

/** A BuildKit-compatible shell word lexer over one string (moby/buildkit shell/lex.go semantics). */
export class Lexer {
  private readonly chars: string[];
  private pos = 0;
  constructor(
    source: string,
    private readonly lookup: (name: string) => string | undefined,
    private readonly escape: string,
  ) {
    this.chars = Array.from(source);
  }
  private peek(): string | undefined {
    return this.chars[this.pos];
  }
  private next(): string | undefined {
    return this.chars[this.pos++];
  }

  /** Process up to `stop` (consumed) or the end; `raw` keeps escape chars (for patterns). */
  run(stop: string | undefined, raw: boolean): Output {
    const out = new Output();
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (stop !== undefined && ch === stop) {
        this.next();
        out.finish();
        return out;
      }
      if (ch === '$') out.add(this.dollar());
      else if (ch === "'") out.addRaw(this.singleQuote());
      else if (ch === '"') out.addRaw(this.doubleQuote(raw));
      else if (ch === '<') out.addRaw(this.possibleHeredoc());
      else if (ch === this.escape) {
        this.next();
        if (raw) out.addRaw(ch);
        const escaped = this.next();
        if (escaped === undefined) break;
        out.addRaw(escaped);
      } else out.add(this.next()!);
    }
    if (stop !== undefined) throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
    out.finish();
    return out;
  }

  private singleQuote(): string {
    this.next();
    let s = '';
    for (let ch = this.next(); ch !== "'"; ch = this.next()) {
      if (ch === undefined) throw new LexError('unexpected end of statement while looking for matching single-quote');
      s += ch;
    }
    return s;
  }

  private doubleQuote(raw: boolean): string {
    this.next();
    let s = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return s;
      }
      if (ch === '$') {
        s += this.dollar();
        continue;
      }
      let c = this.next()!;
      if (c === this.escape) {
        if (raw) s += c;
        const n = this.peek();
        if (n === undefined) continue;
        if (n === '"' || n === '$' || n === this.escape) c = this.next()!;
      }
      s += c;
    }
  }

  private possibleHeredoc(): string {
    this.next();
    if (this.peek() !== '<') return '<';
    this.next();
    let s = '<<';
    for (let ch = this.peek(); ch === ' ' || ch === '\t' || ch === '\r'; ch = this.peek()) s += this.next();
    return s;
  }

  private name(): string {
    const first = this.peek();
    if (first === undefined) return '';
    if (isDigit(first)) {
      let digits = '';
      while (this.peek() !== undefined && isDigit(this.peek()!)) digits += this.next();
      return digits;
    }
    if (SPECIAL_PARAMS.has(first)) return this.next()!;
    let name = '';
    while (this.peek() !== undefined && isNameChar(this.peek()!)) name += this.next();
    return name;
  }

  /** `word` of `${name<op>word}` up to the closing brace. */
  private operand(raw: boolean): string {
    try {
      return this.run('}', raw).text;
    } catch (e) {
      if (e instanceof LexError && this.peek() === undefined) throw new LexError("syntax error: missing '}'");
      throw e;
    }
  }

  private dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      return name === '' ? '$' : (this.lookup(name) ?? '');
    }
    this.next();
    const first = this.peek();
    if (first === undefined) throw new LexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexError('syntax error: bad substitution');
    const name = this.name();
    const after = this.next();
    if (after === undefined) throw new LexError("syntax error: missing '}'");
    let op: string = after;
    if (op === '}') return this.lookup(name) ?? '';
    if (op === '/') return this.substitute(name);
    let nullIsUnset = false;
    let ch = op;
    if (op === ':') {
      nullIsUnset = true;
      ch = this.next() ?? '';
      op += ch;
    } else if (!'+-?#%'.includes(op)) {
      throw new LexError(`unsupported modifier (${op}) in substitution`);
    }
    const patternOp = ch === '#' || ch === '%';
    if (nullIsUnset && patternOp) throw new LexError(`unsupported modifier (${op}) in substitution`);
    let word = this.operand(patternOp);
    const value = this.lookup(name);
    const unset = value === undefined || (nullIsUnset && value === '');
    switch (ch) {
      case '-':
        return unset ? word : value!;
      case '+':
        return unset ? '' : word;
      case '?':
        if (value === undefined) throw new LexError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (unset) throw new LexError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      case '#':
      case '%': {
        const greedy = word.startsWith(ch);
        if (greedy) word = word.slice(1);
        return ch === '%' ? trimSuffix(word, value ?? '', greedy) : trimPrefix(word, value ?? '', greedy);
      }
      default:
        throw new LexError(`unsupported modifier (${op}) in substitution`);
    }
  }

  /** `${name/pattern/replacement}` and `${name//pattern/replacement}`. */
  private substitute(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    let pattern: string;
    try {
      pattern = this.run('/', true).text;
    } catch (e) {
      if (e instanceof LexError && this.peek() === undefined) throw new LexError("syntax error: missing '/' in ${}");
      throw e;
    }
    const replacement = this.operand(true);
    return replacePattern(this.lookup(name) ?? '', pattern, replacement, all);
  }
}
