import { prefixLengthFor, type PrefixDigests } from '@subpack/apk';
import { PermanentError } from '@subpack/messaging';
import type { CachedMaster, MasterCache, PackRecipe } from '@subpack/pack';
import { isPackFormat, type Extras } from '@subpack/rules';
import type { TaskStore, TaskSummary } from '@subpack/state';
import { parseServableUrl, targetRoot } from '@subpack/storage';
import { asPermanent } from './permanent';
import { checkRoots, type ServiceRoots } from './roots';

/** What a step needs to reach a task's state, its master and its roots. */
export interface TaskAccess {
  store: TaskStore;
  masters: MasterCache;
  roots: ServiceRoots;
}

/** A task's master, opened and analysed, with the directory its names must stay inside. */
export interface OpenedTask {
  master: CachedMaster;
  root: string;
}

/** An accepted task as every later step sees it: its record in Redis (the only recipe) and its master. */
export interface AcceptedTask extends OpenedTask {
  summary: TaskSummary;
  recipe: PackRecipe;
}

/** Why a step finds no task: the task was never accepted, or its state in Redis is gone. */
export function taskNotFoundReason(taskId: string): string {
  return `task ${JSON.stringify(taskId)} not found`;
}

/** Both locations must use a scheme this deployment serves; anything else is refused for good, never retried. */
export function checkServable(locations: { master: string; target: string }): void {
  try {
    parseServableUrl(locations.master, 'master');
    parseServableUrl(locations.target, 'target');
  } catch (err) {
    asPermanent(err);
  }
}

/**
 * The checks before any byte of a task is read or written: both locations are servable and inside the roots, and the
 * master can be opened and analysed. Anything else is refused for good, never retried.
 */
export async function openTask(deps: TaskAccess, locations: { master: string; target: string }): Promise<OpenedTask> {
  checkServable(locations);
  await checkRoots(deps.roots, locations.master, locations.target);
  const master = await deps.masters.get(locations.master).catch(asPermanent);
  return { master, root: targetRoot(locations.target) };
}

/** The recipe as accepted, or a permanent refusal: without it nothing may be written. */
function recipeOf(task: TaskSummary): PackRecipe {
  const { format, naming, extras } = task;
  if (format === undefined || naming === undefined || extras === undefined || !isPackFormat(format)) {
    throw new PermanentError(`task ${JSON.stringify(task.taskId)} was recorded without its format, naming or extras; resend it`);
  }
  return { format, naming, extras };
}

/** The master must still be the build the task was accepted with: another package or version would mislabel every channel. */
function checkSameBuild(task: TaskSummary, master: CachedMaster): void {
  const m = master.manifest;
  const now = { package: m.package, versionCode: m.versionCode, versionName: m.versionName ?? undefined };
  const then = { package: task.package, versionCode: task.versionCode, versionName: task.versionName };
  for (const field of ['package', 'versionCode', 'versionName'] as const) {
    if (then[field] !== undefined && then[field] !== now[field]) {
      throw new PermanentError(
        `master ${task.master} is no longer the APK task ${JSON.stringify(task.taskId)} was accepted with ` +
          `(${field} ${JSON.stringify(now[field] ?? null)}, accepted as ${JSON.stringify(then[field])}); send a new task`,
      );
    }
  }
}

/**
 * Loads an accepted task and runs the checks every later step needs before it plans or writes a channel: the task is
 * known, its recipe complete, its locations servable and inside the roots, its master readable and still the same build.
 */
export async function loadAcceptedTask(deps: TaskAccess, taskId: string, known?: TaskSummary | null): Promise<AcceptedTask> {
  const summary = known === undefined ? await deps.store.getTaskSummary(taskId) : known;
  if (!summary) throw new PermanentError(taskNotFoundReason(taskId));
  const recipe = recipeOf(summary);
  const opened = await openTask(deps, summary);
  checkSameBuild(summary, opened.master);
  return { ...opened, summary, recipe };
}

/** Each channel's own extras as accepted; a channel the task does not have refuses the whole message, unwritten. */
export async function channelsOf(deps: TaskAccess, taskId: string, ids: readonly string[]): Promise<{ id: string; extras: Extras }[]> {
  const inputs = await deps.store.channelInputsOf(taskId, ids);
  const unknown = ids.filter((_, i) => inputs[i] === null);
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 5).map((id) => JSON.stringify(id)).join(', ');
    throw new PermanentError(`channel ${shown}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''} ${unknown.length === 1 ? 'is' : 'are'} not part of task ${JSON.stringify(taskId)}`);
  }
  return ids.map((id, i) => ({ id, extras: inputs[i]! }));
}

/** Digests of the master's prefix for the task's format, from the cache: every channel of the task continues them. */
export function prefixDigestsOf(deps: TaskAccess, task: AcceptedTask): Promise<PrefixDigests> {
  return deps.masters.digestsFor(task.master, prefixLengthFor(task.master.layout, task.recipe.format));
}
