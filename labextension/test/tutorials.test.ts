import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { TUTORIAL_ICONS, pickTutorials, tutorialIcon, tutorialTitle, tutorialsFolder } from '../src/tutorials';

const nb = (path: string) => ({ name: path.split('/').pop() as string, path, type: 'notebook' });

test('titles keep the tutorial number, without leading zeros or the extension', () => {
  assert.equal(tutorialTitle('01_quickstart.ipynb'), '1 · Quickstart');
  assert.equal(tutorialTitle('03-custom-models.ipynb'), '3 · Custom models');
  assert.equal(tutorialTitle('10_last.ipynb'), '10 · Last');
  assert.equal(tutorialTitle('Explore.ipynb'), 'Explore');
});

test('the notebooks folder is listed only when the server root has one (no 404 otherwise)', () => {
  assert.equal(tutorialsFolder([{ name: 'notebooks', path: 'notebooks', type: 'directory' }]), 'notebooks');
  assert.equal(tutorialsFolder([nb('01_quickstart.ipynb'), { name: 'lepton-runs', path: 'lepton-runs', type: 'directory' }]), null);
  assert.equal(tutorialsFolder([{ name: 'notebooks', path: 'notebooks', type: 'file' }]), null);
});

test('the tutorials get distinct icons', () => {
  const names = ['01_quickstart.ipynb', '02_augmentation.ipynb', '03_hyperparameters.ipynb', '04_background_jobs.ipynb', '05_fashion_mnist.ipynb'];
  const icons = pickTutorials(names.map(name => nb(`notebooks/${name}`))).map(t => t.icon);
  assert.equal(new Set(icons).size, names.length, `icons ${icons}`);
  assert.ok(icons.every(icon => TUTORIAL_ICONS.includes(icon)));
  // Names that say nothing still differ from their neighbours.
  assert.notEqual(tutorialIcon('06_misc.ipynb', 5), tutorialIcon('07_more.ipynb', 6));
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
  assert.deepEqual(
    picked.map(t => [t.path, t.title]),
    [
      ['01_quickstart.ipynb', '1 · Quickstart'],
      ['02_augment.ipynb', '2 · Augment']
    ]
  );
  assert.deepEqual(pickTutorials(null, []), []);
});
