/**
 * Log text as a person reads it in a terminal.
 *
 * A worker's log holds what its process wrote: progress lines redrawn with
 * carriage returns ("reading fashion_mnist: 10/60 (16%)\r… 20/60 …"), the odd
 * backspace or ANSI colour, and runner lines ending in a long Python dict (the
 * runtime a run chose). `terminalText` replays the control characters the way
 * a terminal does, so a redrawn line shows once, as last drawn; `readableLog`
 * also breaks long dict/list literals over indented lines.
 *
 * Pure functions (no DOM, no JupyterLab): unit-tested under Node.
 */

/** A CSI escape sequence (colours, cursor moves, erase): ESC [ params final-byte. */
const CSI = /^\x1b\[([0-9;?]*)([@-~])/;

/** Replay `raw` as a terminal would: `\r` returns to the line start and overwrites, `\b` steps back. */
export function terminalText(raw: string): string {
  const lines: string[] = [];
  let line: string[] = [];
  let col = 0;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === '\n') {
      lines.push(line.join(''));
      line = [];
      col = 0;
    } else if (ch === '\r') {
      col = 0;
    } else if (ch === '\b') {
      col = Math.max(0, col - 1);
    } else if (ch === '\x1b') {
      const match = CSI.exec(raw.slice(i, i + 32));
      if (match) {
        i += match[0].length - 1;
        if (match[2] === 'K') {
          // Erase in line: 0 (default) from the cursor on, 1 up to it, 2 all of it.
          const mode = match[1] === '' ? '0' : match[1];
          if (mode === '0') {
            line.length = Math.min(line.length, col);
          } else if (mode === '2') {
            line = line.map(() => ' ');
          }
        }
      }
    } else {
      while (line.length < col) {
        line.push(' ');
      }
      line[col] = ch;
      col += 1;
    }
  }
  if (line.length > 0) {
    lines.push(line.join('')); // a line still being drawn (no newline yet)
  }
  return lines.map(text => text.replace(/\s+$/, '')).join('\n');
}

/**
 * `terminalText`, then every line longer than `width` that ends in a dict or list literal
 * has the literal broken over indented lines (short parts stay on one line).
 */
export function readableLog(raw: string, width = 120): string {
  return terminalText(raw)
    .split('\n')
    .map(line => (line.length > width ? readableLine(line, width) : line))
    .join('\n');
}

/** One log line with a trailing `{…}` / `[…]` literal laid out over several lines. */
export function readableLine(line: string, width = 120): string {
  for (let start = 0; start < line.length; start++) {
    const ch = line[start];
    if ((ch === '{' || ch === '[') && closingIndex(line, start) === line.length - 1) {
      return line.slice(0, start) + layout(line.slice(start), 0, width);
    }
  }
  return line;
}

const CLOSERS: Record<string, string> = { '{': '}', '[': ']', '(': ')' };

/** Index of the bracket closing the one at `start` (quotes respected), or -1. */
function closingIndex(text: string, start: number): number {
  const stack: string[] = [];
  let quote: string | null = null;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\') {
        i += 1;
      } else if (ch === quote) {
        quote = null;
      }
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch in CLOSERS) {
      stack.push(CLOSERS[ch]);
    } else if (ch === '}' || ch === ']' || ch === ')') {
      if (stack.pop() !== ch) {
        return -1;
      }
      if (stack.length === 0) {
        return i;
      }
    }
  }
  return -1;
}

/** Split `text` at top-level occurrences of `separator` (outside brackets and quotes). */
function splitTopLevel(text: string, separator: string, limit = Infinity): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\') {
        i += 1;
      } else if (ch === quote) {
        quote = null;
      }
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch in CLOSERS) {
      depth += 1;
    } else if (ch === '}' || ch === ']' || ch === ')') {
      depth -= 1;
    } else if (ch === separator && depth === 0 && parts.length < limit) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts;
}

/** Levels of nesting broken over lines: a dict and the lists in it; their items stay whole. */
const MAX_DEPTH = 2;

/** A literal at `indent`: on one line when it fits (or nests deeper than MAX_DEPTH), else one item per line. */
function layout(literal: string, indent: number, width: number, depth = 0): string {
  const text = literal.trim();
  const open = text[0];
  const isBracketed = open in CLOSERS && closingIndex(text, 0) === text.length - 1;
  if (text.length + indent <= width || !isBracketed || depth >= MAX_DEPTH) {
    return text;
  }
  const inner = text.slice(1, -1).trim();
  if (!inner) {
    return text;
  }
  const pad = ' '.repeat(indent + 2);
  const items = splitTopLevel(inner, ',')
    .map(item => item.trim())
    .filter(item => item.length > 0)
    .map(item => {
      if (open !== '{') {
        return pad + layout(item, indent + 2, width, depth + 1);
      }
      const [key, value] = splitTopLevel(item, ':', 1);
      if (value === undefined) {
        return pad + item;
      }
      const name = key.trim().replace(/^(['"])([\w.-]+)\1$/, '$2');
      return `${pad}${name}: ${layout(value, indent + 2, width, depth + 1)}`;
    });
  return `${open}\n${items.join(',\n')}\n${' '.repeat(indent)}${text[text.length - 1]}`;
}
