import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { formatTick, linearScale, niceTicks, paddedRange, pathData, sparklinePath } from '../src/chartgeom';

test('a linear scale maps the domain onto the range, flipped for SVG y', () => {
  const sy = linearScale([0, 1], [200, 0]);
  assert.equal(sy(0), 200);
  assert.equal(sy(1), 0);
  assert.equal(sy(0.25), 150);
  assert.equal(linearScale([3, 3], [0, 100])(3), 50, 'a flat domain maps to the middle');
});

test('ticks are round numbers inside the range', () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.13, 0.87, 4), [0.2, 0.4, 0.6, 0.8]);
  assert.deepEqual(niceTicks(0, 12000, 3), [0, 5000, 10000]);
  assert.deepEqual(niceTicks(5, 5), [5]);
  assert.deepEqual(niceTicks(NaN, 1), []);
});

test('padded ranges leave room around the data, also when it is flat', () => {
  assert.deepEqual(paddedRange(0, 10, 0.1), [-1, 11]);
  assert.deepEqual(paddedRange(2, 2, 0.5), [1, 3]);
  assert.deepEqual(paddedRange(0, 0), [-1, 1]);
});

test('path data visits every point in order with rounded coordinates', () => {
  const d = pathData([0, 1, 2], [0, 1, 0.5], x => x * 10.04, y => 100 - y * 100);
  assert.equal(d, 'M0 100L10 0L20.1 50');
  assert.equal(pathData([], [], x => x, y => y), '');
});

test('a sparkline fills its box', () => {
  const d = sparklinePath([0, 1, 2], [3, 1, 2], 82, 22);
  assert.equal(d, 'M1 1L41 21L81 11');
});

test('tick labels are short', () => {
  assert.equal(formatTick(0.30000000000000004), '0.3');
  assert.equal(formatTick(12000), '12k');
  assert.equal(formatTick(2500000), '2.5M');
  assert.equal(formatTick(750), '750');
});
