/**
 * Tutorial notebooks for the launcher's "Lepton Lab" section.
 *
 * Pure functions: `pickTutorials` chooses from a contents listing, so the
 * launcher shows whatever notebooks exist (`notebooks/*.ipynb` when the
 * server root is the repository, numbered notebooks at the root when the
 * server runs inside `notebooks/`).
 */

/** An entry of a Jupyter contents listing. */
export interface IContentsEntry {
  name: string;
  path: string;
  type: string;
}

export interface ITutorial {
  path: string;
  title: string;
}

/** "01_quickstart.ipynb" → "Quickstart"; "03-custom-models.ipynb" → "Custom models". */
export function tutorialTitle(name: string): string {
  const stem = name.replace(/\.ipynb$/i, '').replace(/^\d+[\s_.-]*/, '');
  const words = stem.replace(/[_-]+/g, ' ').trim();
  if (!words) {
    return name;
  }
  return words.charAt(0).toUpperCase() + words.slice(1);
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
    .map(entry => ({ path: entry.path, title: tutorialTitle(entry.name) }));
}
