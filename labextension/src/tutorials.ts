/**
 * Tutorial notebooks for the launcher's "Lepton Lab" section.
 *
 * Pure functions: `pickTutorials` chooses from a contents listing, so the
 * launcher shows whatever notebooks exist (`notebooks/*.ipynb` when the
 * server root is the repository, numbered notebooks at the root when the
 * server runs inside `notebooks/`, as `make lab` starts it). The root is
 * listed first and `tutorialsFolder` says whether to list `notebooks/` too,
 * so no page load asks the contents API for a folder that is not there.
 */

/** Folder of tutorial notebooks below the server root, when the server runs on the repository. */
export const TUTORIALS_DIR = 'notebooks';

/** An entry of a Jupyter contents listing. */
export interface IContentsEntry {
  name: string;
  path: string;
  type: string;
}

export interface ITutorial {
  path: string;
  /** "1 · Quickstart" (numbered as its file name is), or "Explore". */
  title: string;
  /** Which launcher icon it gets (see `tutorialIcon`). */
  icon: TutorialIcon;
}

/** Icons of the tutorial launcher tiles (each one an inline SVG in the extension). */
export const TUTORIAL_ICONS = ['start', 'augment', 'tune', 'jobs', 'clothes', 'notebook'] as const;
export type TutorialIcon = (typeof TUTORIAL_ICONS)[number];

/** "01_quickstart.ipynb" → "1 · Quickstart"; "03-custom-models.ipynb" → "3 · Custom models". */
export function tutorialTitle(name: string): string {
  const number = /^(\d+)[\s_.-]*/.exec(name);
  const stem = name.replace(/\.ipynb$/i, '').replace(/^\d+[\s_.-]*/, '');
  const words = stem.replace(/[_-]+/g, ' ').trim();
  if (!words) {
    return name;
  }
  const title = words.charAt(0).toUpperCase() + words.slice(1);
  return number ? `${Number(number[1])} · ${title}` : title;
}

/** The folder to list for tutorials, given the server root's listing: `notebooks/` if it is there. */
export function tutorialsFolder(rootEntries: readonly IContentsEntry[]): string | null {
  return rootEntries.some(entry => entry.type === 'directory' && entry.name === TUTORIALS_DIR) ? TUTORIALS_DIR : null;
}

/**
 * The icon of a tutorial: chosen by what its name says it teaches, else by its place in the
 * list, so that neighbouring tiles differ.
 */
export function tutorialIcon(name: string, index: number): TutorialIcon {
  const rules: [RegExp, TutorialIcon][] = [
    [/quick|start|intro|first/i, 'start'],
    [/augment/i, 'augment'],
    [/hyper|param|tun/i, 'tune'],
    [/job|background|queue|server/i, 'jobs'],
    [/fashion|cloth/i, 'clothes']
  ];
  const rule = rules.find(([pattern]) => pattern.test(name));
  return rule ? rule[1] : TUTORIAL_ICONS[index % TUTORIAL_ICONS.length];
}

/**
 * The notebooks to offer, in file-name order.
 *
 * @param entries - Listing of the tutorials folder (every notebook is a tutorial).
 * @param rootEntries - Listing of the server root, used when there is no tutorials
 *   folder: only numbered notebooks ("01_…") count, so a user's own notebooks stay out.
 */
export function pickTutorials(entries: readonly IContentsEntry[] | null, rootEntries: readonly IContentsEntry[] = []): ITutorial[] {
  const inFolder = entries !== null;
  const source = inFolder ? entries : rootEntries;
  return source
    .filter(entry => entry.type === 'notebook' || (entry.type === 'file' && /\.ipynb$/i.test(entry.name)))
    .filter(entry => /\.ipynb$/i.test(entry.name))
    .filter(entry => inFolder || /^\d+[\s_.-]/.test(entry.name))
    .filter(entry => !entry.name.startsWith('.'))
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }))
    .map((entry, index) => ({ path: entry.path, title: tutorialTitle(entry.name), icon: tutorialIcon(entry.name, index) }));
}
