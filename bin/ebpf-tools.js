#!/usr/bin/env node
import { main } from '../dist/lib/cli.js';

process.exitCode = await main();
