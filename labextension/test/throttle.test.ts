import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { FrameThrottle } from '../src/throttle';
import { ManualTimers } from './fakes';

function setup(minInterval: number) {
  const timers = new ManualTimers();
  const frames: (() => void)[] = [];
  let runs = 0;
  const throttle = new FrameThrottle(() => (runs += 1), {
    minInterval,
    requestFrame: callback => frames.push(callback),
    cancelFrame: () => frames.splice(0),
    now: () => timers.now,
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout
  });
  const frame = () => frames.splice(0).forEach(f => f());
  return { timers, throttle, frame, runs: () => runs, frames };
}

test('many requests before a frame make one run', () => {
  const { throttle, frame, runs } = setup(0);
  for (let i = 0; i < 500; i++) {
    throttle.schedule();
  }
  assert.equal(runs(), 0);
  frame();
  assert.equal(runs(), 1);
  frame();
  assert.equal(runs(), 1, 'no request, no run');
});

test('runs are at least minInterval apart', () => {
  const { timers, throttle, frame, runs, frames } = setup(100);
  throttle.schedule();
  frame();
  assert.equal(runs(), 1);
  timers.advance(30);
  throttle.schedule();
  assert.equal(frames.length, 0, 'waits for the interval before asking for a frame');
  timers.advance(69);
  assert.equal(frames.length, 0);
  timers.advance(1);
  frame();
  assert.equal(runs(), 2);
});

test('dispose drops a pending run', () => {
  const { throttle, frame, runs } = setup(0);
  throttle.schedule();
  throttle.dispose();
  frame();
  assert.equal(runs(), 0);
  throttle.schedule();
  frame();
  assert.equal(runs(), 0);
});
