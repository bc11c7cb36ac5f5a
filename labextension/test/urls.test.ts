import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { apiUrl, relativePath, socketUrl, toWebSocketUrl } from '../src/urls';

test('apiUrl joins the base URL and endpoint with single slashes', () => {
  assert.equal(apiUrl('http://h:1/', 'status'), 'http://h:1/lepton-lab/api/status');
  assert.equal(apiUrl('http://h:1/x/', '/jobs/abc'), 'http://h:1/x/lepton-lab/api/jobs/abc');
});

test('apiUrl encodes query parameters', () => {
  assert.equal(
    apiUrl('http://h/', 'jobs', { status: 'running', after: 3 }),
    'http://h/lepton-lab/api/jobs?status=running&after=3'
  );
  assert.equal(apiUrl('http://h/', 'jobs', { q: 'a b&c' }), 'http://h/lepton-lab/api/jobs?q=a%20b%26c');
});

test('toWebSocketUrl swaps the scheme and keeps TLS', () => {
  assert.equal(toWebSocketUrl('http://h/x'), 'ws://h/x');
  assert.equal(toWebSocketUrl('https://h/x'), 'wss://h/x');
});

test('socketUrl adds the token only when there is one', () => {
  assert.equal(socketUrl('ws://h/x/', 'stream', {}, 't'), 'ws://h/x/lepton-lab/api/stream?token=t');
  assert.equal(socketUrl('http://h/', 'jobs/a/stream', { after: 5 }), 'ws://h/lepton-lab/api/jobs/a/stream?after=5');
});

test('relativePath finds paths under the server root and refuses the rest', () => {
  assert.equal(relativePath('/home/u/lab', '/home/u/lab/lepton-runs/r1'), 'lepton-runs/r1');
  assert.equal(relativePath('/home/u/lab/', '/home/u/lab'), '');
  assert.equal(relativePath('/home/u/lab', '/home/u/labx/r1'), null);
  assert.equal(relativePath('/home/u/lab', '/tmp/runs/r1'), null);
  assert.equal(relativePath('/', '/tmp/r1'), 'tmp/r1');
  assert.equal(relativePath('', '/tmp/r1'), null);
});
