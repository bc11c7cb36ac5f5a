import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { SendLimiter } from '../src/predictionpadwidget';
import { ManualTimers } from './fakes';

function setup(interval: number) {
  const timers = new ManualTimers();
  const sent: boolean[] = [];
  const limiter = new SendLimiter(
    final => sent.push(final),
    () => interval,
    { now: () => timers.now, setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout }
  );
  return { timers, limiter, sent };
}

test('the first stroke move sends at once, later ones at most every interval', () => {
  const { timers, limiter, sent } = setup(150);
  limiter.request();
  assert.deepEqual(sent, [false]);
  for (let t = 0; t < 140; t += 10) {
    timers.advance(10);
    limiter.request();
  }
  assert.equal(sent.length, 1, 'moves within the interval wait');
  assert.deepEqual(timers.delays, [10]);
  timers.advance(10);
  assert.deepEqual(sent, [false, false], 'the trailing send goes out when the interval ends');
});

test('the stroke end sends the final drawing at once and drops the pending live one', () => {
  const { timers, limiter, sent } = setup(150);
  limiter.request();
  timers.advance(50);
  limiter.request();
  assert.deepEqual(timers.delays, [100]);
  limiter.flush();
  assert.deepEqual(sent, [false, true]);
  assert.deepEqual(timers.delays, [], 'no live send after the final one');
  timers.advance(500);
  assert.deepEqual(sent, [false, true]);
});

test('after a pause a new stroke sends at once again', () => {
  const { timers, limiter, sent } = setup(150);
  limiter.request();
  limiter.flush();
  timers.advance(400);
  limiter.request();
  assert.deepEqual(sent, [false, true, false]);
});
