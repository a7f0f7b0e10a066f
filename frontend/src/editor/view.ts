// The stage's camera: image pixels to screen (CSS) pixels, zoom about a point, pan, fit.

const MIN_SCALE = 0.02;
const MAX_SCALE = 40;

export class View {
  scale = 1;
  tx = 0;
  ty = 0;
  /** Image size in pixels. */
  w = 1;
  h = 1;
  /** Stage size in CSS pixels. */
  cw = 1;
  ch = 1;
  /** Whether the image is fitted to the stage (no zoom or pan since): a resize refits it. */
  fitted = true;
  /** Called when the scale changes (fit, zoom), never on a pan: the zoom readout follows. */
  onScale: ((scale: number) => void) | null = null;

  setImage(w: number, h: number): void {
    this.w = w;
    this.h = h;
  }

  fit(): void {
    this.scale = Math.min(this.cw / this.w, this.ch / this.h) * 0.98;
    this.tx = (this.cw - this.w * this.scale) / 2;
    this.ty = (this.ch - this.h * this.scale) / 2;
    this.fitted = true;
    this.onScale?.(this.scale);
  }

  /** The stage changed size: refit a fitted image, else keep what was at the centre there. */
  resize(cw: number, ch: number): void {
    const [dx, dy] = [(cw - this.cw) / 2, (ch - this.ch) / 2];
    this.cw = cw;
    this.ch = ch;
    if (this.fitted) this.fit();
    else this.pan(dx, dy);
  }

  zoomAt(factor: number, sx = this.cw / 2, sy = this.ch / 2): void {
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale * factor));
    const f = scale / this.scale;
    this.tx = sx - (sx - this.tx) * f;
    this.ty = sy - (sy - this.ty) * f;
    this.scale = scale;
    this.fitted = false;
    this.onScale?.(this.scale);
  }

  pan(dx: number, dy: number): void {
    this.tx += dx;
    this.ty += dy;
    this.fitted = false;
  }

  /** Screen point to normalised image coordinates (may fall outside 0..1). */
  toNorm(sx: number, sy: number): [number, number] {
    return [(sx - this.tx) / this.scale / this.w, (sy - this.ty) / this.scale / this.h];
  }

  toScreen(nx: number, ny: number): [number, number] {
    return [nx * this.w * this.scale + this.tx, ny * this.h * this.scale + this.ty];
  }

  /** One screen pixel in normalised units, per axis. */
  pixel(): [number, number] {
    return [1 / (this.w * this.scale), 1 / (this.h * this.scale)];
  }
}
