#!/usr/bin/env node
// The CLI lives in dist/cli.js, built from src/cli.ts.
await import('../dist/cli.js');
