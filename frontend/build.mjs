// Bundles each page's entry point from frontend/src into static/dist/.
import { build } from "esbuild";
import { readdirSync } from "node:fs";

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
