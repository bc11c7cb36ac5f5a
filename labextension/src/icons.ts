/**
 * Lepton Lab's icons: the extension's own and one per kind of tutorial, so the
 * launcher's tiles can be told apart at a glance. Small inline SVGs that follow
 * the theme (`jp-icon3` is recoloured by JupyterLab's dark theme).
 */
import { LabIcon } from '@jupyterlab/ui-components';

import { TutorialIcon } from './tutorials';

function svg(body: string): string {
  return (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">' +
    `<g class="jp-icon3" fill="#616161">${body}</g></svg>`
  );
}

export const leptonIcon = new LabIcon({
  name: 'lepton-lab:icon',
  svgstr: svg(
    '<circle cx="12" cy="12" r="2.6"/><path d="M12 3c4.6 0 8 4 8 9s-3.4 9-8 9-8-4-8-9 3.4-9 8-9zm0 1.8' +
      'c-3.3 0-6.2 3.1-6.2 7.2s2.9 7.2 6.2 7.2 6.2-3.1 6.2-7.2S15.3 4.8 12 4.8z"/>'
  )
});

const TUTORIAL_SVGS: Record<TutorialIcon, string> = {
  // A play button: the first run.
  start: svg('<path d="M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20zm0 2a8 8 0 1 0 0 16 8 8 0 0 0 0-16z"/><path d="M10 7.5v9l7-4.5z"/>'),
  // A picture and its mirror image: augmentation.
  augment: svg(
    '<path d="M3 5h8v14H3zm2 2v8l2.5-3 2 2.5V7z"/><path d="M13 5h8v14h-8zm2 2v7.5l2-2.5 2.5 3V7z" opacity=".55"/>' +
      '<path d="M11.3 3h1.4v18h-1.4z"/>'
  ),
  // Three sliders: hyperparameters.
  tune: svg(
    '<path d="M4 6h16v1.6H4zm0 5.2h16v1.6H4zm0 5.2h16V18H4z"/><circle cx="8" cy="6.8" r="2.2"/>' +
      '<circle cx="15.5" cy="12" r="2.2"/><circle cx="10.5" cy="17.2" r="2.2"/>'
  ),
  // A stack of jobs with a clock: background jobs.
  jobs: svg(
    '<path d="M3 4h12v3H3zm0 5h9v3H3zm0 5h7v3H3z"/><path d="M17 10a5 5 0 1 1 0 10 5 5 0 0 1 0-10zm0 1.6a3.4 3.4 0 1 0 0 6.8 ' +
      '3.4 3.4 0 0 0 0-6.8zm-.7 1h1.4v2.4l1.7 1-.7 1.2-2.4-1.4z"/>'
  ),
  // A T-shirt: Fashion-MNIST.
  clothes: svg('<path d="M8.5 3 3 6l2 4.5 2-1V21h10V9.5l2 1L21 6l-5.5-3c-.4 1.6-1.8 2.7-3.5 2.7S8.9 4.6 8.5 3z"/>'),
  // A notebook: any other tutorial.
  notebook: svg(
    '<path d="M6 2h12a2 2 0 0 1 2 2v16a2 2 0 0 1-2 2H6zm2 2v16h10V4z"/><path d="M3.5 6h4v1.6h-4zm0 5h4v1.6h-4zm0 5h4v1.6h-4z"/>' +
      '<path d="M10 7h6v1.5h-6zm0 3.5h6V12h-6z"/>'
  )
};

/** One LabIcon per tutorial kind. */
export const tutorialIcons: Record<TutorialIcon, LabIcon> = Object.fromEntries(
  Object.entries(TUTORIAL_SVGS).map(([key, svgstr]) => [key, new LabIcon({ name: `lepton-lab:tutorial-${key}`, svgstr })])
) as Record<TutorialIcon, LabIcon>;
