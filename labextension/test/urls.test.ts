import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { apiUrl, toWebSocketUrl } from '../src/urls';

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
