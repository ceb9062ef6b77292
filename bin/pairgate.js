#!/usr/bin/env node
// The installed `pairgate` command: runs the compiled CLI.
import '../dist/cli/main.js';
