/**
 * What the Devices section and the job view show of a cluster: one row per node of `GET devices`
 * `nodes` (present only when the server's executor runs jobs on a cluster), and where a job ran.
 *
 * Pure functions over payloads, no DOM and no JupyterLab imports: the unit tests run them under
 * plain Node, and panel.ts / jobview.ts turn the result into elements.
 */
import type { IClusterNode, IJob } from './payloads';

/** A job running on a node, as the row links it: its id and the name shown. */
export interface INodeJob {
  id: string;
  label: string;
}

/** One node as the Devices section shows it. */
export interface INodeRow {
  id: string;
  /** Short id (a Ray node id is 56 hex digits: its first 8 tell nodes apart), plus the address. */
  title: string;
  /** The full id and address, for the tooltip. */
  tooltip: string;
  head: boolean;
  /** `lost`: the cluster no longer hears from the node (its jobs become interrupted). */
  state: 'alive' | 'lost';
  /** "4 CPUs · 1 GPU". */
  resources: string;
  jobs: INodeJob[];
}

/** Characters of a node id shown: enough to tell the nodes of one cluster apart. */
export const NODE_ID_CHARS = 8;

/** The first characters of a node id ("a1b2c3d4" of a Ray node id); short ids as they are. */
export function shortNodeId(id: string): string {
  return id.length > NODE_ID_CHARS + 2 ? id.slice(0, NODE_ID_CHARS) : id;
}

/**
 * Rows of the cluster's nodes, head first, then alive before lost, otherwise in the server's order;
 * `names` maps job ids to the names shown (ids of jobs not in it are shown as they are).
 */
export function nodeRows(nodes: IClusterNode[], names: Map<string, string>): INodeRow[] {
  const rank = (node: IClusterNode): number => (node.head ? 0 : node.alive === false ? 2 : 1);
  return nodes
    .map((node, index) => ({ node, index }))
    .sort((a, b) => rank(a.node) - rank(b.node) || a.index - b.index)
    .map(({ node }) => {
      const short = shortNodeId(node.id);
      const address = node.address ?? '';
      return {
        id: node.id,
        title: address ? `${short} · ${address}` : short,
        tooltip: address ? `node ${node.id} at ${address}` : `node ${node.id}`,
        head: Boolean(node.head),
        state: node.alive === false ? 'lost' : 'alive',
        resources: [count(node.cpus, 'CPU'), count(node.gpus, 'GPU')].join(' · '),
        jobs: (node.jobs ?? []).map(id => ({
          id,
          label: names.get(id) ?? id
        }))
      };
    });
}

/**
 * Where a job ran, for the job view: "node a1b2c3d4" when a cluster placed it, "GPUs 0, 1" when
 * it holds more than one GPU (one GPU is in its tag already); '' on this host with at most one GPU.
 */
export function placementLabel(job: Pick<IJob, 'node' | 'gpus'>): string {
  const parts: string[] = [];
  if (job.node) {
    parts.push(`node ${shortNodeId(job.node)}`);
  }
  if (job.gpus && job.gpus.length > 1) {
    parts.push(`GPUs ${job.gpus.join(', ')}`);
  }
  return parts.join(' · ');
}

/** "4 CPUs", "1 GPU", "0.5 GPUs" (Ray reports fractional resources); "? CPUs" when unknown. */
function count(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return `? ${unit}s`;
  }
  const text = Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100);
  return `${text} ${unit}${value === 1 ? '' : 's'}`;
}
