// Where the Hub is and where its files go, read from the environment variables
// huggingface_hub itself honours, so a cache shared with Python tools is found.
import os from 'node:os';
import path from 'node:path';

export interface HubConfig {
  /** The Hub's base URL, no trailing slash. */
  endpoint: string;
  /** The cache's root: the folder holding `models--org--name` folders. */
  cacheDir: string;
  /** Never touch the network; serve from the cache only. */
  offline: boolean;
  /** Sent as `Authorization: Bearer` to the Hub for gated and private models. */
  token: string | null;
}

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** huggingface_hub's reading of boolean variables. */
function truthy(value: string | undefined): boolean {
  return ['1', 'on', 'yes', 'true'].includes((value ?? '').trim().toLowerCase());
}

function nonEmpty(value: string | undefined): string | null {
  const v = value?.trim();
  return v ? v : null;
}

/**
 * `HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
 * `~/.cache/huggingface/hub`; the token given (the app's saved one) wins over `HF_TOKEN`.
 */
export function hubConfigFromEnv(env: NodeJS.ProcessEnv = process.env, token: string | null = null): HubConfig {
  const home = nonEmpty(env.HF_HOME) ?? path.join(nonEmpty(env.XDG_CACHE_HOME) ?? path.join(os.homedir(), '.cache'), 'huggingface');
  return {
    endpoint: (nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    cacheDir: nonEmpty(env.HF_HUB_CACHE) ?? path.join(home, 'hub'),
    offline: truthy(env.HF_HUB_OFFLINE),
    token: nonEmpty(token ?? undefined) ?? nonEmpty(env.HF_TOKEN),
  };
}
