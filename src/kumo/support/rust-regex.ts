/**
 * Translates Rust `regex`/`fancy-regex` syntax to an equivalent JS RegExp
 * (`u` flag). Unicode-aware classes (\d, \w, \s, \b) and `.` are spelled out
 * because JS's versions are ASCII-only or treat \r differently. Constructs
 * JS cannot express exactly raise an error naming the construct.
 */
export class RegexSyntaxError extends Error {}

const WORD_ITEMS = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';
const WORD = `[${WORD_ITEMS}]`;
const NOT_WORD = `[^${WORD_ITEMS}]`;
const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7F', blank: '\\t ', cntrl: '\\x00-\\x1F\\x7F', digit: '0-9',
  graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`{-~', space: '\\t\\n\\v\\f\\r ', upper: 'A-Z',
  word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
}

export interface TranslatedRegex {
  source: string;
  flags: string;
}

function unsupported(what: string, pattern: string): never {
  throw new RegexSyntaxError(`regex ${JSON.stringify(pattern)}: ${what} is not supported by kumo-lua's JavaScript regex engine`);
}

function literal(c: string, inClass: boolean): string {
  if (SYNTAX.has(c) || (inClass && c === '-')) return `\\${c}`;
  return c;
}

export function translateRustRegex(pattern: string): TranslatedRegex {
  const flags: Flags = { i: false, m: false, s: false, x: false };
  let i = 0;
  let out = '';
  let atStart = true;

  const applyFlags = (spec: string, where: string) => {
    let on = true;
    for (const f of spec) {
      if (f === '-') on = false;
      else if (f === 'i' || f === 'm' || f === 's' || f === 'x') flags[f] = on;
      else if (f === 'u' && on) continue;
      else if (f === 'R') unsupported('the CRLF flag (?R)', pattern);
      else if (f === 'U') unsupported('the swap-greed flag (?U)', pattern);
      else unsupported(`the flag ${JSON.stringify(f)} in ${where}`, pattern);
    }
  };

  const escape = (inClass: boolean): string => {
    const c = pattern[i + 1];
    if (c === undefined) throw new RegexSyntaxError(`regex ${JSON.stringify(pattern)}: incomplete escape sequence at the end`);
    i += 2;
    switch (c) {
      case 'd': return inClass ? '\\p{Nd}' : '\\p{Nd}';
      case 'D': return '\\P{Nd}';
      case 's': return '\\p{White_Space}';
      case 'S': return '\\P{White_Space}';
      case 'w': return inClass ? WORD_ITEMS : WORD;
      case 'W':
        if (inClass) unsupported('\\W inside a character class', pattern);
        return NOT_WORD;
      case 'b':
        if (inClass) return '\\x08';
        return `(?:(?<=${WORD})(?!${WORD})|(?<!${WORD})(?=${WORD}))`;
      case 'B': return `(?:(?<=${WORD})(?=${WORD})|(?<!${WORD})(?!${WORD}))`;
      case 'A': return '(?<![\\s\\S])';
      case 'z': return '(?![\\s\\S])';
      case 'x': {
        if (pattern[i] === '{') {
          const end = pattern.indexOf('}', i);
          if (end < 0) throw new RegexSyntaxError(`regex ${JSON.stringify(pattern)}: unclosed \\x{...}`);
          const hex = pattern.slice(i + 1, end);
          i = end + 1;
          return `\\u{${hex}}`;
        }
        const hex = pattern.slice(i, i + 2);
        i += 2;
        return `\\x${hex}`;
      }
      case 'p':
      case 'P': {
        let name: string;
        if (pattern[i] === '{') {
          const end = pattern.indexOf('}', i);
          if (end < 0) throw new RegexSyntaxError(`regex ${JSON.stringify(pattern)}: unclosed \\${c}{...}`);
          name = pattern.slice(i + 1, end);
          i = end + 1;
        } else {
          name = pattern[i] ?? '';
          i++;
        }
        return unicodeProperty(c, name.replace(/\s+/g, ''), pattern);
      }
      case 'n': case 't': case 'r': case 'f': case 'v': return `\\${c}`;
      case 'a': return '\\x07';
      case 'k': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
        if (inClass) unsupported(`\\${c} inside a character class`, pattern);
        return `\\${c}`;
      default:
        if (/[A-Za-z0-9]/.test(c)) unsupported(`the escape \\${c}`, pattern);
        return literal(c, inClass);
    }
  };

  const charClass = (): string => {
    let res = '[';
    i++;
    if (pattern[i] === '^') {
      res += '^';
      i++;
    }
    if (pattern[i] === ']') {
      res += '\\]';
      i++;
    }
    for (;;) {
      const c = pattern[i];
      if (c === undefined) throw new RegexSyntaxError(`regex ${JSON.stringify(pattern)}: unclosed character class`);
      if (c === ']') {
        i++;
        return res + ']';
      }
      if (c === '[') {
        const posix = /^\[:(\^?)([a-z]+):\]/.exec(pattern.slice(i));
        if (!posix) unsupported('a nested character class', pattern);
        if (posix[1]) unsupported(`the negated class [:^${posix[2]}:]`, pattern);
        const ranges = POSIX[posix[2]!];
        if (!ranges) throw new RegexSyntaxError(`regex ${JSON.stringify(pattern)}: unknown POSIX class [:${posix[2]}:]`);
        res += ranges;
        i += posix[0].length;
        continue;
      }
      if ((c === '&' || c === '-' || c === '~') && pattern[i + 1] === c) unsupported(`class set operation ${c}${c}`, pattern);
      if (c === '\\') {
        res += escape(true);
        continue;
      }
      if (c === '-') {
        res += '-';
        i++;
        continue;
      }
      res += literal(c, true);
      i += c.length;
    }
  };

  while (i < pattern.length) {
    const c = pattern[i]!;
    if (flags.x && /\s/.test(c)) {
      i++;
      continue;
    }
    if (flags.x && c === '#') {
      while (i < pattern.length && pattern[i] !== '\n') i++;
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      const rest = pattern.slice(i + 2);
      const flagGroup = /^([a-zA-Z-]*)([:)])/.exec(rest);
      if (flagGroup && !rest.startsWith('P<') && (flagGroup[1] !== '' || flagGroup[2] === ':')) {
        if (flagGroup[2] === ')') {
          if (!atStart) unsupported(`the inline flag group (?${flagGroup[1]}) after the start of the pattern`, pattern);
          applyFlags(flagGroup[1]!, `(?${flagGroup[1]})`);
          i += 2 + flagGroup[0].length;
          continue;
        }
        if (flagGroup[1] !== '') unsupported(`the scoped flag group (?${flagGroup[1]}:...)`, pattern);
        out += '(?:';
        i += 3;
        atStart = false;
        continue;
      }
      if (rest.startsWith('P<')) {
        out += '(?<';
        i += 4;
      } else if (rest.startsWith('P=')) {
        const end = pattern.indexOf(')', i);
        out += `\\k<${pattern.slice(i + 4, end)}>`;
        i = end + 1;
      } else if (rest.startsWith('P>')) {
        unsupported('recursive group calls (?P>name)', pattern);
      } else if (rest.startsWith('>')) {
        unsupported('atomic groups (?>...)', pattern);
      } else if (/^(<[A-Za-z_]|=|!|<=|<!)/.test(rest)) {
        out += '(?';
        i += 2;
      } else {
        unsupported(`the group (?${rest.slice(0, 2)}`, pattern);
      }
      atStart = false;
      continue;
    }
    atStart = false;
    if (c === '\\') {
      out += escape(false);
    } else if (c === '[') {
      out += charClass();
    } else if (c === '.') {
      out += flags.s ? '[\\s\\S]' : '[^\\n]';
      i++;
    } else if (c === '^') {
      out += flags.m ? '(?:(?<![\\s\\S])|(?<=\\n))' : '(?<![\\s\\S])';
      i++;
    } else if (c === '$') {
      out += flags.m ? '(?:(?![\\s\\S])|(?=\\n))' : '(?![\\s\\S])';
      i++;
    } else if ((c === '+' || c === '*' || c === '?' || c === '}') && pattern[i + 1] === '+') {
      unsupported(`the possessive quantifier ${c}+`, pattern);
    } else if (c === '/') {
      out += '\\/';
      i++;
    } else {
      const cp = String.fromCodePoint(pattern.codePointAt(i)!);
      out += cp;
      i += cp.length;
    }
  }
  const source = out;
  const jsFlags = flags.i ? 'iu' : 'u';
  try {
    new RegExp(source, jsFlags);
  } catch (err) {
    throw new RegexSyntaxError(`regex ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
  return { source, flags: jsFlags };
}

function unicodeProperty(kind: string, name: string, pattern: string): string {
  const candidates = [name, `Script=${name}`, name.replace(/_/g, '')];
  for (const candidate of candidates) {
    try {
      new RegExp(`\\p{${candidate}}`, 'u');
      return `\\${kind}{${candidate}}`;
    } catch {
      // try the next spelling
    }
  }
  return unsupported(`the Unicode class \\${kind}{${name}}`, pattern);
}

const RUST_META = new Set('\\.+*?()|[]{}^$#&-~'.split(''));

/** regex::escape: backslash before every meta character. */
export function escapeRustRegex(text: string): string {
  let out = '';
  for (const c of text) out += RUST_META.has(c) ? `\\${c}` : c;
  return out;
}

/**
 * The `regex` crate (used by RegexSet: kumo.regex_set_map, the bounce
 * classifier) has no look-around and no backreferences, which
 * `translateRustRegex` accepts for fancy-regex. Raises naming the construct.
 */
export function assertPlainRustRegex(pattern: string): void {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (!inClass && (/[1-9]/.test(next) || next === 'k')) {
        throw new RegexSyntaxError(`regex ${JSON.stringify(pattern)}: backreferences are not supported`);
      }
      i++;
    } else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (!inClass && c === '(' && /^\(\?(=|!|<=|<!)/.test(pattern.slice(i))) {
      throw new RegexSyntaxError(`regex ${JSON.stringify(pattern)}: look-around is not supported`);
    }
  }
}
