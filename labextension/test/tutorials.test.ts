import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { pickTutorials, tutorialTitle } from '../src/tutorials';

const nb = (path: string) => ({ name: path.split('/').pop() as string, path, type: 'notebook' });

test('titles drop the number and the extension', () => {
  assert.equal(tutorialTitle('01_quickstart.ipynb'), 'Quickstart');
  assert.equal(tutorialTitle('03-custom-models.ipynb'), 'Custom models');
  assert.equal(tutorialTitle('Explore.ipynb'), 'Explore');
});

test('every notebook of the tutorials folder is offered, in numeric order', () => {
  const picked = pickTutorials([
    nb('notebooks/10_last.ipynb'),
    nb('notebooks/02_data.ipynb'),
    { name: 'data', path: 'notebooks/data', type: 'directory' },
    { name: 'notes.md', path: 'notebooks/notes.md', type: 'file' },
    nb('notebooks/extra.ipynb')
  ]);
  assert.deepEqual(
    picked.map(t => t.path),
    ['notebooks/02_data.ipynb', 'notebooks/10_last.ipynb', 'notebooks/extra.ipynb']
  );
});

test('without a tutorials folder only numbered notebooks at the root count', () => {
  const picked = pickTutorials(null, [nb('01_quickstart.ipynb'), nb('my analysis.ipynb'), nb('02_augment.ipynb')]);
  assert.deepEqual(picked, [
    { path: '01_quickstart.ipynb', title: 'Quickstart' },
    { path: '02_augment.ipynb', title: 'Augment' }
  ]);
  assert.deepEqual(pickTutorials(null, []), []);
});
