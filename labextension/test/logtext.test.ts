import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { readableLine, readableLog, terminalText } from '../src/logtext';

test('a carriage return redraws the line, as in a terminal', () => {
  const raw = 'reading fashion_mnist: 10/60 (16%)\rreading fashion_mnist: 20/60 (33%)\rreading fashion_mnist: 60/60 (100%)\nnext line\n';
  assert.equal(terminalText(raw), 'reading fashion_mnist: 60/60 (100%)\nnext line');
  assert.equal(terminalText('abcdef\rxy'), 'xycdef', 'a shorter redraw leaves the rest, as a terminal does');
  assert.equal(terminalText('line one\r\nline two\r\n'), 'line one\nline two');
  assert.equal(terminalText('12%\b\b\b40%'), '40%');
});

test('colours are dropped and erase-line clears what follows the cursor', () => {
  assert.equal(terminalText('\x1b[32mok\x1b[0m done'), 'ok done');
  assert.equal(terminalText('progress 99%\r\x1b[Kfinished'), 'finished');
  assert.equal(terminalText('a still-drawn line'), 'a still-drawn line');
});

test('a long dict at the end of a log line is laid out one key per line', () => {
  const line =
    "2026-01-01 12:00:00,000 INFO training: 1437 examples, 45 steps/epoch, runtime {'device': 'CPU', 'gpus': [], " +
    "'steps_per_execution': 16, 'precision': 'float32', 'summary': [{'index': 0, 'layer': 'Input', 'output_shape': [None, 8, 8, 1]}, " +
    "{'index': 1, 'layer': 'Flatten', 'output_shape': [None, 64]}]}";
  const text = readableLine(line, 100);
  const lines = text.split('\n');
  assert.equal(lines[0], '2026-01-01 12:00:00,000 INFO training: 1437 examples, 45 steps/epoch, runtime {');
  assert.ok(lines.includes("  device: 'CPU',"), text);
  assert.ok(lines.includes('  steps_per_execution: 16,'), text);
  assert.ok(lines.includes('  summary: ['), text);
  assert.ok(lines.includes("    {'index': 1, 'layer': 'Flatten', 'output_shape': [None, 64]}"), text);
  assert.equal(lines[lines.length - 1], '}');
  // A dict and its lists are broken up; the rows of a list stay one line each.
  assert.equal(lines.length, 10, text);
});

test('short lines, and text that only looks like a literal, stay as they are', () => {
  assert.equal(readableLog("INFO run {'a': 1}"), "INFO run {'a': 1}");
  const unbalanced = `INFO ${'x'.repeat(130)} {'a': '}', 'b': [1, 2`;
  assert.equal(readableLine(unbalanced), unbalanced);
  const quoted = `INFO ${'y'.repeat(100)} {'note': 'a, b: c', 'n': 2}`;
  assert.equal(readableLine(quoted, 20).split('\n')[1], "  note: 'a, b: c',");
});
