// The run page's "Try it" panel: the run's model_web/ in this browser through the same helper
// that ships inside model_web/ (annotator.js), on a dropped file or a project image, with the
// time it took and the backend used; optionally the server's SavedModel answer beside it.
// Backends: WebGL where the browser has it on a GPU, else WASM (binaries from our static files), else CPU.
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { load, type AnnotatorModel, type Classification, type Detection } from "../../training/ml/web/annotator.js";
import { api } from "./lib/api";
import { $ } from "./lib/dom";

const BACKENDS = ["webgl", "wasm", "cpu"];
const panel = $("#try-it");
const status = $("#try-status");
let model: AnnotatorModel | null = null;
// A dropped file travels to the server as bytes; a project image by id (the server reads its bucket).
let current: { image: HTMLImageElement; blob?: Blob; imageId?: string } | null = null;

interface ServerAnswer {
  milliseconds: number;
  detections?: Detection[];
  classes?: Classification[];
}

setWasmPaths({
  "tfjs-backend-wasm.wasm": panel.dataset.wasm!,
  "tfjs-backend-wasm-simd.wasm": panel.dataset.wasmSimd!,
  "tfjs-backend-wasm-threaded-simd.wasm": panel.dataset.wasmThreadedSimd!,
});

// WebGL drawn in software (SwiftShader, llvmpipe: no GPU) is ten times slower than WASM here.
function softwareWebGL(): boolean {
  const canvas = document.createElement("canvas");
  const gl = (canvas.getContext("webgl2") ?? canvas.getContext("webgl")) as WebGLRenderingContext | null;
  if (!gl) return false;
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  return /swiftshader|llvmpipe|software/i.test(renderer);
}

async function chooseBackend(wanted: string): Promise<string> {
  const order = wanted !== "auto" ? [wanted] : BACKENDS.filter((name) => name !== "webgl" || !softwareWebGL());
  for (const name of order) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return tf.getBackend();
      }
    } catch {
      // not available in this browser: try the next one
    }
  }
  throw new Error(`No TensorFlow.js backend could start (${wanted}).`);
}

let loadedFor = "";

async function ensureModel(): Promise<AnnotatorModel> {
  const wanted = ($("#try-backend") as HTMLSelectElement).value;
  if (!model || loadedFor !== wanted) {
    status.textContent = "loading the model…";
    model?.dispose();
    model = null;
    await chooseBackend(wanted);
    model = await load(panel.dataset.modelUrl!, { tf });
    loadedFor = wanted;
  }
  return model;
}

function draw(canvas: HTMLCanvasElement, image: HTMLImageElement, detections: Detection[]) {
  const scale = Math.min(1, 640 / image.naturalWidth);
  canvas.width = Math.round(image.naturalWidth * scale);
  canvas.height = Math.round(image.naturalHeight * scale);
  const ctx = canvas.getContext("2d")!;
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  ctx.lineWidth = 2;
  ctx.font = "14px system-ui, sans-serif";
  for (const { label, score, box } of detections) {
    const [x, y, w, h] = [box.x * scale, box.y * scale, box.width * scale, box.height * scale];
    ctx.strokeStyle = "#f59e0b";
    ctx.strokeRect(x, y, w, h);
    const text = `${label} ${score.toFixed(2)}`;
    ctx.fillStyle = "#f59e0b";
    ctx.fillRect(x, Math.max(0, y - 18), ctx.measureText(text).width + 8, 18);
    ctx.fillStyle = "#111827";
    ctx.fillText(text, x + 4, Math.max(14, y - 4));
  }
}

function list(target: HTMLElement, answer: { detections?: Detection[]; classes?: Classification[] }) {
  const rows = answer.classes
    ? answer.classes.map((c) => `${c.label}\t${c.probability.toFixed(3)}`)
    : (answer.detections ?? []).map((d) => `${d.label}\t${d.score.toFixed(3)}\t` + boxText(d));
  target.textContent = rows.length ? rows.join("\n") : "nothing found above the score threshold";
}

function boxText({ box }: Detection): string {
  return `x ${box.x.toFixed(0)}, y ${box.y.toFixed(0)}, ${box.width.toFixed(0)}×${box.height.toFixed(0)} px`;
}

async function runInBrowser() {
  if (!current) return;
  const minScore = Number(($("#try-min-score") as HTMLInputElement).value);
  try {
    const fresh = !model || loadedFor !== ($("#try-backend") as HTMLSelectElement).value;
    const m = await ensureModel();
    status.textContent = "running…";
    const ask = async () =>
      m.kind === "detection" ? { detections: await m.detect(current!.image, { minScore }) } : { classes: await m.classify(current!.image) };
    // The first call compiles shaders or kernels; the time shown is a steady-state one.
    if (fresh) await ask();
    const started = performance.now();
    const answer = await ask();
    const ms = performance.now() - started;
    draw($("#try-canvas") as HTMLCanvasElement, current.image, answer.detections ?? []);
    list($("#try-result"), answer);
    $("#try-time").textContent = `${ms.toFixed(1)} ms`;
    $("#try-backend-used").textContent = tf.getBackend();
    status.textContent = "";
    ($("#try-server") as HTMLButtonElement).disabled = false;
  } catch (error) {
    status.textContent = (error as Error).message;
  }
}

async function askServer() {
  if (!current) return;
  const form = new FormData();
  if (current.blob) form.append("image", current.blob, "image");
  else form.append("image_id", current.imageId!);
  form.append("min_score", ($("#try-min-score") as HTMLInputElement).value);
  $("#try-server-result").textContent = "asking the server…";
  try {
    const answer = await api<ServerAnswer>(panel.dataset.predictUrl!, { method: "POST", body: form });
    draw($("#try-server-canvas") as HTMLCanvasElement, current.image, answer.detections ?? []);
    list($("#try-server-result"), answer);
    $("#try-server-time").textContent = `${answer.milliseconds.toFixed(1)} ms (SavedModel)`;
  } catch (error) {
    $("#try-server-result").textContent = (error as Error).message;
  }
}

async function use(source: { blob?: Blob; url?: string; imageId?: string }) {
  const image = new Image();
  // Project images may come by presigned link from the bucket: CORS decides whether TF.js may read them.
  image.crossOrigin = "anonymous";
  image.src = source.blob ? URL.createObjectURL(source.blob) : source.url!;
  try {
    await image.decode();
  } catch {
    status.textContent = "The image could not be loaded (a bucket without CORS for this site?).";
    return;
  }
  if (current?.blob) URL.revokeObjectURL(current.image.src);
  current = { image, blob: source.blob, imageId: source.imageId };
  $("#try-server-result").textContent = "";
  $("#try-server-time").textContent = "";
  await runInBrowser();
}

async function fillProjectImages() {
  const select = $("#try-project-image") as HTMLSelectElement;
  try {
    const page = await api<{ results: { id: number; key: string }[] }>(`${panel.dataset.imagesUrl}?page_size=100`);
    for (const item of page.results) select.add(new Option(item.key, String(item.id)));
  } catch {
    select.disabled = true;
  }
  select.addEventListener("change", () => {
    if (select.value) use({ url: `${panel.dataset.imagesUrl}${select.value}/file/`, imageId: select.value });
  });
}

const input = $("#try-file") as HTMLInputElement;
input.addEventListener("change", () => input.files?.[0] && use({ blob: input.files[0] }));
panel.addEventListener("dragover", (event) => event.preventDefault());
panel.addEventListener("drop", (event) => {
  event.preventDefault();
  const file = event.dataTransfer?.files[0];
  if (file) use({ blob: file });
});
$("#try-backend").addEventListener("change", runInBrowser);
$("#try-min-score").addEventListener("change", runInBrowser);
$("#try-server").addEventListener("click", askServer);
fillProjectImages();
