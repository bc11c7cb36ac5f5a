import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { filterJobs, matchesQuery, parseQuery } from '../src/jobfilter';
import { JobsState } from '../src/jobs';
import { IJob } from '../src/payloads';

const job = (id: string, status: IJob['status'], extra: Partial<IJob> = {}): IJob => ({
  run_dir: 'r',
  id,
  name: id,
  status,
  created: '2025-01-01T10:00',
  ...extra
});

const JOBS: IJob[] = [
  job('20250101-cnn-a1', 'running', { name: 'CNN wide', tags: ['sweep', 'lesson-2'] }),
  job('20250101-cnn-b2', 'completed', { name: 'CNN narrow', tags: ['sweep'], note: 'best so far' }),
  job('20250101-mlp-c3', 'failed', { name: 'MLP baseline', tags: ['baseline'] }),
  job('20250101-mlp-d4', 'queued', { name: 'MLP deep', tags: [] }),
  job('20250101-old-e5', 'completed', { name: 'old CNN', tags: ['sweep'], archived: true })
];

const ids = (text: string, archived = false): string[] =>
  filterJobs(JOBS, parseQuery(text, archived)).map(j => j.id.slice(-2));

test('the example from the issue: status, tag and a word together', () => {
  assert.deepEqual(ids('status:running tag:sweep cnn'), ['a1']);
});

test('bare words match name, id, tags and note, ignoring case', () => {
  assert.deepEqual(ids('cnn'), ['a1', 'b2']);
  assert.deepEqual(ids('MLP'), ['c3', 'd4']);
  assert.deepEqual(ids('c3'), ['c3']);
  assert.deepEqual(ids('baseline'), ['c3']);
  assert.deepEqual(ids('BEST'), ['b2']);
  assert.deepEqual(ids('lesson'), ['a1']);
});

test('fields restrict a word; a comma gives alternatives; active and prefixes expand', () => {
  assert.deepEqual(ids('status:completed'), ['b2']);
  assert.deepEqual(ids('status:failed,queued'), ['c3', 'd4']);
  assert.deepEqual(ids('status:active'), ['a1', 'd4']);
  assert.deepEqual(ids('status:fail'), ['c3']);
  assert.deepEqual(ids('status:finished'), ['b2', 'c3']);
  assert.deepEqual(ids('name:deep'), ['d4']);
  assert.deepEqual(ids('id:cnn'), ['a1', 'b2']);
  assert.deepEqual(ids('name:best'), [], 'name: does not look at the note');
  assert.deepEqual(ids('tag:lesson'), ['a1'], 'a tag prefix matches');
  assert.deepEqual(ids('tag:swe'), ['a1', 'b2']);
});

test('quotes keep a phrase together and a leading minus excludes', () => {
  assert.deepEqual(ids('"cnn narrow"'), ['b2']);
  assert.deepEqual(ids('name:"mlp base"'), ['c3']);
  assert.deepEqual(ids('-status:failed mlp'), ['d4']);
  assert.deepEqual(ids('-tag:sweep'), ['c3', 'd4']);
});

test('archived jobs are hidden unless asked for', () => {
  assert.deepEqual(ids(''), ['a1', 'b2', 'c3', 'd4']);
  assert.deepEqual(ids('', true), ['a1', 'b2', 'c3', 'd4', 'e5']);
  assert.deepEqual(ids('old', true), ['e5']);
  assert.deepEqual(ids('old'), []);
});

test('anything unknown is plain text, never an error', () => {
  assert.deepEqual(parseQuery('colour:red').terms, [{ field: 'text', values: ['colour:red'], negated: false }]);
  assert.deepEqual(parseQuery('status:').terms, []);
  assert.deepEqual(parseQuery('   ').terms, []);
  assert.deepEqual(parseQuery('-').terms, [{ field: 'text', values: ['-'], negated: false }]);
  assert.equal(matchesQuery(job('x', 'completed', { name: null, tags: undefined }), parseQuery('tag:a')), false);
});

test('a deleted message drops the job from the list', () => {
  const state = new JobsState();
  state.apply({ type: 'snapshot', jobs: JOBS });
  const version = state.version;
  assert.deepEqual(state.apply({ type: 'deleted', id: JOBS[1].id }), []);
  assert.equal(state.get(JOBS[1].id), undefined);
  assert.equal(state.size, JOBS.length - 1);
  assert.ok(state.version > version);
  assert.deepEqual(state.apply({ type: 'deleted', id: 'unknown' }), []);
});
