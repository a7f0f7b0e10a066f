// Bundles each page's entry point from frontend/src into static/dist/, and copies the
// TensorFlow.js WASM backend's binaries next to them (the run page's "Try it" panel loads
// them from our own static files, never a CDN).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";

const entries = readdirSync("frontend/src")
  .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))
  .map((name) => `frontend/src/${name}`);

await build({
  entryPoints: entries,
  bundle: true,
  format: "esm",
  target: "es2022",
  outdir: "static/dist",
  sourcemap: true,
  minify: process.env.NODE_ENV === "production",
  logLevel: "warning",
});

const wasmDir = "node_modules/@tensorflow/tfjs-backend-wasm/dist";
mkdirSync("static/dist/tfjs", { recursive: true });
for (const name of readdirSync(wasmDir).filter((file) => file.endsWith(".wasm"))) {
  copyFileSync(`${wasmDir}/${name}`, `static/dist/tfjs/${name}`);
}
