// Run a TF.js graph model from disk in Node with the pure-JS backend.
// Usage: node tfjs_predict.mjs MODEL_DIR REQUEST_JSON RESULT_JSON
// REQUEST_JSON: {"shape": [1, H, W, 3], "files": ["0.f32", ...], "outputs": ["Identity:0", ...]}
//               (files hold raw little-endian float32 pixels, relative to the request file)
// RESULT_JSON:  [{"Identity:0": {"shape": [...], "data": [...]}, ...}, ...], one per file
// Resolve @tensorflow/tfjs through NODE_PATH or the working directory (the repository root).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.cwd(), "noop.js"));
const tf = require("@tensorflow/tfjs");

function diskHandler(modelDir) {
  const modelJson = JSON.parse(readFileSync(path.join(modelDir, "model.json"), "utf8"));
  const specs = [];
  const buffers = [];
  for (const group of modelJson.weightsManifest) {
    specs.push(...group.weights);
    for (const shard of group.paths) {
      buffers.push(readFileSync(path.join(modelDir, shard)));
    }
  }
  const joined = Buffer.concat(buffers);
  const weightData = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength);
  return tf.io.fromMemory({
    modelTopology: modelJson.modelTopology,
    weightSpecs: specs,
    weightData,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
    signature: modelJson.signature,
    userDefinedMetadata: modelJson.userDefinedMetadata,
  });
}

async function main() {
  const [modelDir, inputPath, outputPath] = process.argv.slice(2);
  await tf.setBackend("cpu");
  const request = JSON.parse(readFileSync(inputPath, "utf8"));
  const model = await tf.loadGraphModel(diskHandler(modelDir));
  const results = [];
  for (const file of request.files) {
    const raw = readFileSync(path.join(path.dirname(inputPath), file));
    const pixels = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const input = tf.tensor(pixels, request.shape, "float32");
    // executeAsync: detectors contain NonMaxSuppression, which TF.js only runs asynchronously.
    let outputs = await model.executeAsync(input, request.outputs);
    if (!Array.isArray(outputs)) outputs = [outputs];
    const result = {};
    request.outputs.forEach((name, i) => {
      result[name] = { shape: outputs[i].shape, data: Array.from(outputs[i].dataSync()) };
    });
    results.push(result);
    tf.dispose([input, ...outputs]);
  }
  writeFileSync(outputPath, JSON.stringify(results));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
