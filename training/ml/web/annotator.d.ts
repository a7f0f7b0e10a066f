// Types for annotator.js, for TypeScript users of model_web/.
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface Detection {
  label: string;
  score: number;
  box: Box;
}
export interface Classification {
  label: string;
  probability: number;
}
export type ImageInput = HTMLImageElement | HTMLCanvasElement | HTMLVideoElement | ImageBitmap | ImageData | unknown;

export declare class AnnotatorModel {
  readonly kind: "detection" | "classification";
  readonly labels: string[];
  readonly inputSize: number;
  readonly metadata: any;
  predict(image: ImageInput): Promise<Record<string, Float32Array | Int32Array | Uint8Array>>;
  detect(image: ImageInput, options?: { minScore?: number }): Promise<Detection[]>;
  classify(image: ImageInput): Promise<Classification[]>;
  dispose(): void;
}

export declare function load(url?: string, options?: { tf?: unknown }): Promise<AnnotatorModel>;
