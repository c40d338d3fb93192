// The live pressure map: the cushion seen from above, front (knees) at the top and the
// sitter's left on the left (CONTRACT section 1: row 0 = front, column 0 = left).
//
// The grid is painted into a rows x cols bitmap and scaled up with the browser's bilinear
// smoothing, which gives a smooth map for the price of one drawImage.

// magma-like stops: dark (no load) to pale yellow (full scale)
const STOPS = [
  [0.0, [13, 16, 38]],
  [0.2, [59, 15, 112]],
  [0.45, [140, 41, 129]],
  [0.65, [222, 73, 104]],
  [0.85, [254, 159, 109]],
  [1.0, [252, 253, 191]],
];

function buildLut() {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = i / 255;
    let k = 1;
    while (k < STOPS.length - 1 && STOPS[k][0] < x) k++;
    const [x0, c0] = STOPS[k - 1];
    const [x1, c1] = STOPS[k];
    const f = Math.min(1, Math.max(0, (x - x0) / (x1 - x0)));
    for (let j = 0; j < 3; j++) lut[i * 3 + j] = c0[j] + (c1[j] - c0[j]) * f;
  }
  return lut;
}

const LUT = buildLut();
const GAMMA = 0.6;
export const BACKGROUND = STOPS[0][1];

export class Heatmap {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.grid = document.createElement("canvas");
    this.gridCtx = this.grid.getContext("2d");
    this.scale = 0; // smoothed full-scale, so colours do not flicker frame to frame
    this.clear();
  }

  fitToDisplay() {
    const ratio = window.devicePixelRatio || 1;
    const size = Math.max(120, Math.round(this.canvas.clientWidth * ratio)) || 320;
    if (this.canvas.width !== size || this.canvas.height !== size) {
      this.canvas.width = size;
      this.canvas.height = size;
    }
    return size;
  }

  clear() {
    const size = this.fitToDisplay();
    this.ctx.fillStyle = `rgb(${BACKGROUND.join(",")})`;
    this.ctx.fillRect(0, 0, size, size);
    this.canvas.dataset.dim = "true"; // nothing drawn: not a seated frame
  }

  // dim: nobody seated. The daemon scales each frame to its own maximum, so an empty
  // seat's noise would otherwise glow as brightly as a person: show it faded instead.
  // The last frame again, e.g. after a resize (resizing a canvas blanks it).
  redraw() {
    if (this.last) this.draw(this.last.frame, this.last.options);
    else this.clear();
  }

  draw(frame, { dim = false } = {}) {
    this.last = { frame, options: { dim } };
    if (!frame || !Array.isArray(frame.load) || !frame.rows || !frame.cols) {
      this.clear();
      return;
    }
    const { rows, cols, load } = frame;
    let max = 0;
    for (const row of load) for (const v of row) if (v > max) max = v;
    // a floor keeps an empty seat dark instead of stretching noise to full colour
    const target = Math.max(max, 0.05);
    this.scale = this.scale ? this.scale + (target - this.scale) * 0.3 : target;

    if (this.grid.width !== cols || this.grid.height !== rows) {
      this.grid.width = cols;
      this.grid.height = rows;
    }
    const img = this.gridCtx.createImageData(cols, rows);
    for (let r = 0; r < rows; r++) {
      const row = load[r] || [];
      for (let c = 0; c < cols; c++) {
        // gamma < 1 lifts the thighs' light load out of the dark next to the sit bones
        const v = Math.pow(Math.min(1, Math.max(0, (row[c] || 0) / this.scale)), GAMMA);
        const i = Math.round(v * 255) * 3;
        const o = (r * cols + c) * 4;
        img.data[o] = LUT[i];
        img.data[o + 1] = LUT[i + 1];
        img.data[o + 2] = LUT[i + 2];
        img.data[o + 3] = 255;
      }
    }
    this.gridCtx.putImageData(img, 0, 0);

    const size = this.fitToDisplay();
    const ctx = this.ctx;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.fillStyle = `rgb(${BACKGROUND.join(",")})`;
    ctx.fillRect(0, 0, size, size);
    ctx.globalAlpha = dim ? 0.25 : 1;
    ctx.drawImage(this.grid, 0, 0, size, size);
    ctx.globalAlpha = 1;
    this.canvas.dataset.dim = String(dim);
    if (dim) return;

    const cw = size / cols;
    const ch = size / rows;
    // features are in cell-index coordinates: the centre of cell (r, c) is (r, c)
    const x = (col) => (col + 0.5) * cw;
    const y = (row) => (row + 0.5) * ch;

    if (typeof frame.midline_col === "number") {
      ctx.save();
      ctx.setLineDash([size / 40, size / 60]);
      ctx.lineWidth = Math.max(1.5, size / 200);
      ctx.strokeStyle = "rgba(255,255,255,0.85)";
      ctx.beginPath();
      ctx.moveTo(x(frame.midline_col), 0);
      ctx.lineTo(x(frame.midline_col), size);
      ctx.stroke();
      ctx.restore();
    }
    for (const peak of frame.peaks || []) {
      if (!Array.isArray(peak) || peak.length < 2) continue;
      ctx.beginPath();
      ctx.arc(x(peak[1]), y(peak[0]), Math.max(5, size / 28), 0, Math.PI * 2);
      ctx.lineWidth = Math.max(2, size / 110);
      ctx.strokeStyle = "#ffffff";
      ctx.stroke();
      ctx.lineWidth = 1;
      ctx.strokeStyle = "#000000";
      ctx.stroke();
    }
    if (Array.isArray(frame.cop) && frame.cop.length >= 2) {
      const cx = x(frame.cop[1]);
      const cy = y(frame.cop[0]);
      const r = Math.max(4, size / 40);
      ctx.lineWidth = Math.max(1.5, size / 160);
      ctx.strokeStyle = "#7df9ff";
      ctx.beginPath();
      ctx.moveTo(cx - r, cy);
      ctx.lineTo(cx + r, cy);
      ctx.moveTo(cx, cy - r);
      ctx.lineTo(cx, cy + r);
      ctx.stroke();
    }
  }
}
