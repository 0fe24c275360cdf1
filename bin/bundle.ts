/**
 * The build's last step (`npm run build`): bundles dist/bin/crux.js and everything it imports into
 * one file, dist/bin/crux.bundle.mjs, which is the `crux` the package installs and the one every
 * local fulcrum runs. One file spares Node's ESM loader resolving, reading and compiling ~150
 * modules: a fulcrum starts in 0.15 s of CPU instead of 0.23 (`npm run bench -- startup`).
 * esbuild-wasm, not esbuild: no platform binary to download, the same output.
 */
import { chmodSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild-wasm'

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const outfile = here('./crux.bundle.mjs')
const t0 = performance.now()
/** What both outputs share: one ES module for Node 20, minified as below. */
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Whitespace, comments and redundant syntax out; names kept (no identifier mangling), so errors and
  // stack frames still name our functions. Every fulcrum holds this source in its heap: 1.8 MB with
  // comments, and stored two bytes a character, because comments held characters like '→'; minified
  // it is 1.2 MB of one-byte (ASCII) text. Measured: peak RSS per fulcrum 2–3 MB lower.
  minifyWhitespace: true,
  minifySyntax: true,
  charset: 'ascii',
  logLevel: 'warning',
} as const
await build({
  ...common,
  entryPoints: [here('./crux.js')],
  outfile,
  // Dependencies written as CommonJS call require(); an ES module has none until we make one.
  banner: {
    js: "import { createRequire as __cruxRequire } from 'node:module'; import { dirname as __cruxDirname } from 'node:path'; import { fileURLToPath as __cruxPath } from 'node:url'; const require = __cruxRequire(import.meta.url); const __filename = __cruxPath(import.meta.url); const __dirname = __cruxDirname(__filename);",
  },
  // Reflection and proto-loader read .proto files beside their own code, by __dirname: they stay in
  // node_modules, and are imported dynamically, on the first reflection call. (A static import of an
  // external module is hoisted to the top of the bundle and loaded by every command: grpc-js is
  // bundled for that reason; its own __dirname uses — channelz, ORCA — run only when enabled.)
  // js-yaml parses a YAML `--config` file only: left out, it costs every other run nothing.
  external: ['@grpc/proto-loader', '@grpc/reflection', 'js-yaml'],
})
chmodSync(outfile, 0o755)
// The service bootstrap (actors/picket/service-child.mts) is a separate program: the first module of
// every service's child process, which may read only itself and its bundle. Emitted beside the bundle
// under the name it has beside tsc's output, so either finds it as ./service-child.mjs.
await build({ ...common, entryPoints: [here('../actors/picket/service-child.mjs')], outfile: here('./service-child.mjs') })
if (process.argv.includes('--verbose')) process.stderr.write(`bundled ${outfile} in ${Math.round(performance.now() - t0)} ms\n`)
