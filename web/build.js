// Build the shipped verifier: one readable, unminified ES module bundled from src/, written
// into the Python package so a newsroom needs no Node.js. Usage: node build.js [OUTFILE]
//
// Two passes: bundle with whitespace minified (which drops the comments: the JSDoc types
// live in src/, the bundle stays in the worker's size budget), then print the result again
// unminified, so the shipped file reads like the sources, names and structure intact.
import { build, transform } from "esbuild";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const outfile = process.argv[2] ?? `${here}../src/tamizdat/web/verifier.js`;

const bundled = await build({
  entryPoints: [`${here}src/index.js`],
  bundle: true,
  write: false,
  format: "esm",
  target: "es2022",
  platform: "neutral",
  minifyWhitespace: true,
  charset: "utf8",
  legalComments: "none",
  logLevel: "warning",
});
const readable = await transform(bundled.outputFiles[0].text, { format: "esm", target: "es2022", charset: "utf8" });
const banner = "// tamizdat verifier: generated from web/src by `npm run build` (do not edit).\n";
await writeFile(outfile, banner + readable.code);
