import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { BoundedSeries } from '../src/series';

test('a short series keeps every point exactly', () => {
  const series = new BoundedSeries(10);
  for (let i = 1; i <= 5; i++) {
    series.push(i, i * 2);
  }
  assert.deepEqual(series.xs, [1, 2, 3, 4, 5]);
  assert.deepEqual(series.ys, [2, 4, 6, 8, 10]);
  assert.equal(series.bucketSize, 1);
});

test('a million points stay within maxPoints and keep the overall mean', () => {
  const series = new BoundedSeries(500);
  let sum = 0;
  const n = 1_000_000;
  for (let i = 0; i < n; i++) {
    const y = Math.sin(i / 1000) + i / n;
    sum += y;
    series.push(i, y);
  }
  assert.ok(series.length <= 500, `length ${series.length}`);
  assert.ok(series.length >= 250, `length ${series.length}`);
  assert.equal(series.count, n);
  // Every raw point counts in exactly one bucket: the weighted mean of the buckets is the true mean.
  const bucket = series.bucketSize;
  let weighted = 0;
  let weight = 0;
  for (let i = 0; i < series.length; i++) {
    const w = i < series.length - 1 ? bucket : n - bucket * (series.length - 1);
    weighted += series.ys[i] * w;
    weight += w;
  }
  assert.equal(weight, n);
  assert.ok(Math.abs(weighted / weight - sum / n) < 1e-9);
  assert.deepEqual(series.last, { x: n - 1, y: Math.sin((n - 1) / 1000) + (n - 1) / n });
});

test('x stays increasing through merges so the line never doubles back', () => {
  const series = new BoundedSeries(8);
  for (let i = 0; i < 1000; i++) {
    series.push(i, i % 7);
  }
  for (let i = 1; i < series.length; i++) {
    assert.ok(series.xs[i] > series.xs[i - 1]);
  }
  assert.ok(series.xs[0] < 100 && series.xs[series.length - 1] > 900);
});

test('NaN, null and infinite values are skipped', () => {
  const series = new BoundedSeries(10);
  series.push(1, 0.5);
  series.push(2, NaN);
  series.push(3, null);
  series.push(4, Infinity);
  series.push(5, undefined);
  assert.deepEqual(series.xs, [1]);
  assert.deepEqual(series.yRange(), [0.5, 0.5]);
});

test('version changes with every point and clear empties the series', () => {
  const series = new BoundedSeries(10);
  const v0 = series.version;
  series.push(1, 1);
  assert.notEqual(series.version, v0);
  series.clear();
  assert.equal(series.length, 0);
  assert.equal(series.last, null);
  assert.equal(series.yRange(), null);
});

test('maxPoints below 4 is refused', () => {
  assert.throws(() => new BoundedSeries(2), /at least 4/);
});

test('truncateAfter drops the points after x and keeps the rest', () => {
  const series = new BoundedSeries(8);
  for (let x = 1; x <= 6; x++) {
    series.push(x, x * 10);
  }
  const version = series.version;
  series.truncateAfter(4);
  assert.deepEqual(series.xs, [1, 2, 3, 4]);
  assert.equal(series.count, 4);
  assert.deepEqual(series.last, { x: 4, y: 40 });
  assert.ok(series.version > version);
  series.push(5, 99);
  assert.deepEqual(series.ys, [10, 20, 30, 40, 99]);
  series.truncateAfter(100); // nothing after: nothing changes
  assert.equal(series.length, 5);
});
