// Removes what `npm run build` writes: the output folder and TypeScript's incremental build info, both
// read from tsconfig.build.json. `npm pack` runs it before the build (`prepack`): an incremental build
// only writes the outputs of sources it sees changed, so without it the package would carry the
// compiled files of removed sources, outputs edited or deleted since their last build, whatever else
// was left in dist/. `npm run build` stays incremental for everyday work.
import { rmSync } from 'node:fs';
import ts from 'typescript';

const configPath = 'tsconfig.build.json';
const read = ts.readConfigFile(configPath, ts.sys.readFile);
if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
const { options } = ts.parseJsonConfigFileContent(read.config, ts.sys, process.cwd(), undefined, configPath);
const written = [options.outDir, options.tsBuildInfoFile].filter((path) => path !== undefined);
if (written.length === 0) throw new Error(`${configPath} names no outDir: nothing known to clean`);
for (const path of written) rmSync(path, { recursive: true, force: true });
