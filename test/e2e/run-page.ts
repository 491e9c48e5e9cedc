// Reading a run page as the e2e tests check it: what the host stored (through the page's own
// bridge), how many points each chart draws, and waiting for a run to reach a status.
import type { Page } from 'playwright-core';
import type { RunDetail } from '../../core/api/contract';
import type { RunStatus } from '../../core/store/types';

/** A run that trains a few dozen tiny steps, with a worker to start first, ends well within this. */
export const RUN_TIMEOUT_MS = 90_000;

/** The run as the host has it now, asked through the page's `window.tunesmith`. */
export function runDetail(page: Page, runId: string): Promise<RunDetail> {
  return page.evaluate((id) => window.tunesmith!.getRun({ runId: id }), runId);
}

/** Points of each line (or the one named `series`) in the chart titled `title`: one per M or L command in its path. */
export async function linePoints(page: Page, title: string, series?: string): Promise<number[]> {
  const paths = page.getByRole('figure', { name: title, exact: true }).locator(series ? `path.line[data-series="${series}"]` : 'path.line');
  const shapes = await paths.evaluateAll((els) => els.map((e) => e.getAttribute('d') ?? ''));
  return shapes.map((d) => (d.match(/[ML]/g) ?? []).length);
}

/** Marks drawn for series of a single point, which a line alone would leave invisible. */
export function loneMarks(page: Page, title: string): Promise<number> {
  return page.getByRole('figure', { name: title, exact: true }).locator('circle.point').count();
}

/** The run page's status badge, next to the run's name. */
export async function waitForStatus(page: Page, name: string, status: RunStatus, timeout = RUN_TIMEOUT_MS): Promise<void> {
  await page.getByRole('heading', { level: 1, name }).waitFor();
  await page.getByRole('main').getByText(status, { exact: true }).waitFor({ timeout });
}

/** 1, 2, … n. */
export function range(from: number, to: number, step = 1): number[] {
  return Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);
}

/** Waits until the run page's progress bar has reached `step`. */
export async function waitForStep(page: Page, step: number, timeout = RUN_TIMEOUT_MS): Promise<void> {
  const bar = await page.getByRole('progressbar', { name: 'Training progress' }).elementHandle({ timeout });
  await page.waitForFunction(([el, n]) => (el as HTMLProgressElement).value >= n, [bar, step] as const, { timeout });
}
