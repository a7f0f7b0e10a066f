// annotator.js: use an Annotator model_web/ folder from a web page, no build step needed.
//
//   <script src="tf.min.js"></script>                       <!-- @tensorflow/tfjs 4.x -->
//   <script type="module">
//     import { load } from "./model_web/annotator.js";
//     const model = await load("model_web/");
//     await model.detect(img);    // [{label, score, box: {x, y, width, height}}], img's pixels
//     await model.classify(img);  // [{label, probability}], most probable first
//   </script>
//
// TensorFlow.js comes from the page (globalThis.tf) or from `load(url, { tf })` for bundlers.
// The image is stretched to the model's square input exactly as training resized it
// (cropAndResize over the whole image, bilinear); boxes come back in the image's own pixels.
// Every tensor made here is disposed before a call returns.

export async function load(url = "./", options = {}) {
  const tf = options.tf ?? globalThis.tf;
  if (!tf) throw new Error("TensorFlow.js is not loaded: add tf.min.js to the page or pass load(url, { tf }).");
  const base = url.endsWith("/") ? url : `${url}/`;
  const fetchJson = async (name) => {
    const response = await fetch(base + name);
    if (!response.ok) throw new Error(`${base}${name}: HTTP ${response.status}`);
    return response.json();
  };
  const [metadata, graph] = await Promise.all([fetchJson("metadata.json"), tf.loadGraphModel(base + "model.json")]);
  return new AnnotatorModel(tf, graph, metadata);
}

export class AnnotatorModel {
  constructor(tf, graph, metadata) {
    this.tf = tf;
    this.graph = graph;
    this.metadata = metadata;
    this.kind = metadata.kind;
    this.labels = metadata.labels;
    this.inputSize = metadata.input.shape[1];
    this.outputNames = Object.keys(metadata.outputs);
  }

  // Raw named outputs as typed arrays: {boxes, classes, scores, num_detections} or {probabilities}.
  async predict(image) {
    const { tf } = this;
    const input = tf.tidy(() => {
      const pixels = image instanceof tf.Tensor ? image : tf.browser.fromPixels(image);
      const batch = pixels.toFloat().expandDims(0);
      return tf.image.cropAndResize(batch, [[0, 0, 1, 1]], [0], [this.inputSize, this.inputSize], "bilinear");
    });
    let outputs;
    try {
      // executeAsync: a detector's NMS is dynamic, which TF.js only runs asynchronously.
      outputs = await this.graph.executeAsync({ [this.metadata.input.name]: input }, this.outputNames);
      if (!Array.isArray(outputs)) outputs = [outputs];
      const data = await Promise.all(outputs.map((tensor) => tensor.data()));
      return Object.fromEntries(this.outputNames.map((name, i) => [name, data[i]]));
    } finally {
      tf.dispose([input, ...(outputs ?? [])]);
    }
  }

  async detect(image, { minScore = 0.5 } = {}) {
    if (this.kind !== "detection") throw new Error(`This is a ${this.kind} model: use classify().`);
    const { width, height } = imageSize(image, this.tf);
    const out = await this.predict(image);
    const found = [];
    for (let i = 0; i < out.num_detections[0]; i++) {
      if (out.scores[i] < minScore) continue;
      const [ymin, xmin, ymax, xmax] = out.boxes.subarray(i * 4, i * 4 + 4);
      found.push({
        label: this.labels[Math.round(out.classes[i])],
        score: out.scores[i],
        box: { x: xmin * width, y: ymin * height, width: (xmax - xmin) * width, height: (ymax - ymin) * height },
      });
    }
    return found;
  }

  async classify(image) {
    if (this.kind !== "classification") throw new Error(`This is a ${this.kind} model: use detect().`);
    const { probabilities } = await this.predict(image);
    return this.labels
      .map((label, i) => ({ label, probability: probabilities[i] }))
      .sort((a, b) => b.probability - a.probability);
  }

  dispose() {
    this.graph.dispose();
  }
}

function imageSize(image, tf) {
  if (image instanceof tf.Tensor) return { width: image.shape[1], height: image.shape[0] };
  return {
    width: image.naturalWidth || image.videoWidth || image.width,
    height: image.naturalHeight || image.videoHeight || image.height,
  };
}
