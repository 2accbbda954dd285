// Build what ships inside the Python package (so a newsroom needs no Node.js): readable,
// unminified bundles generated from src/. Usage: node build.js [OUTDIR]
// `node build.js --sizes` (npm run sizes) writes nothing: it prints what each source module
// contributes to sw.js, the file with a size budget (issue 10), largest first.
//   verifier.js     the verifier as an ES module (Node, the conformance CLI, the differential test)
//   sw.js           the service worker (a classic script: `tamizdat build` prepends its config)
//   tz-register.js  the register script every page loads
//   tz-verify.js    the verify page's in-browser check
//   tz-ed25519.js   the Ed25519 fallback the worker loads only when WebCrypto lacks Ed25519
//
// Two passes: bundle with whitespace minified (which drops the comments: the JSDoc types
// live in src/, the bundles stay in the worker's size budget), then print the result again
// unminified, so the shipped file reads like the sources, names and structure intact.
import { build, transform } from "esbuild";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = fileURLToPath(new URL(".", import.meta.url));
const sizes = process.argv[2] === "--sizes";
const outdir = (sizes ? undefined : process.argv[2]) ?? `${here}../src/tamizdat/web`;

/** @type {[string, string, "esm" | "iife"][]} */
const bundles = [
  ["index.js", "verifier.js", "esm"],
  ["sw/worker.js", "sw.js", "iife"],
  ["register.js", "tz-register.js", "iife"],
  ["verify-page.js", "tz-verify.js", "iife"],
  ["ed25519-fallback.js", "tz-ed25519.js", "iife"],
];

for (const [entry, name, format] of bundles) {
  if (sizes && name !== "sw.js") continue;
  const bundled = await build({
    entryPoints: [`${here}src/${entry}`],
    bundle: true,
    write: false,
    format,
    target: "es2022",
    platform: "neutral",
    mainFields: ["module", "main"],
    minifyWhitespace: true,
    charset: "utf8",
    legalComments: "none",
    logLevel: "warning",
    metafile: sizes,
  });
  const readable = await transform(bundled.outputFiles[0].text, { format: format === "esm" ? "esm" : undefined, target: "es2022", charset: "utf8" });
  if (sizes) {
    printSizes(bundled.metafile, readable.code);
    continue;
  }
  const banner = `// tamizdat ${name}: generated from web/src/${entry} by \`npm run build\` (do not edit).\n`;
  await writeFile(`${outdir}/${name}`, banner + readable.code);
}

/**
 * @param {import("esbuild").Metafile | undefined} metafile
 * @param {string} readable the bundle as shipped (without its banner)
 */
function printSizes(metafile, readable) {
  const inputs = Object.values(metafile?.outputs ?? {})[0]?.inputs ?? {};
  const rows = Object.entries(inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput);
  const total = rows.reduce((sum, [, input]) => sum + input.bytesInOutput, 0);
  console.log(`sw.js: ${Buffer.byteLength(readable)} B readable, ${gzipSync(readable, { level: 9 }).length} B gzip; by module (whitespace-minified bytes):`);
  for (const [path, input] of rows) console.log(`${String(input.bytesInOutput).padStart(7)}  ${(100 * input.bytesInOutput / total).toFixed(1).padStart(5)}%  ${path}`);
}
