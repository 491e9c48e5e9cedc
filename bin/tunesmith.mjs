#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so the repo needs no build step for the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../core/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
