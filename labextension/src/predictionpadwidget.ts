/**
 * The notebook's prediction pad canvas: an anywidget front end to draw on, with brush size,
 * clear and upload.
 *
 * The kernel side (`lepton_lab/widgets/prediction_pad.py`) does the rest: it turns the pixels
 * into the model's input, asks the model and draws the bars. This view sends it
 *
 * - `{type: "drawing", data, final}` with the canvas as a PNG data URL, while a stroke is drawn
 *   (at most every `live_interval_ms`, the last one trailing) and once more when it ends;
 * - `{type: "upload", name, data}` with a chosen file as a data URL;
 * - `{type: "clear"}` when the canvas is wiped.
 *
 * The `background` trait (a test example or an upload, as a data URL) is drawn under the
 * strokes, pixel for pixel (no smoothing), so drawing over an example edits that example.
 * Pointer events cover mouse, pen and touch alike.
 *
 * Bundled with esbuild into `lepton_lab/widgets/static/prediction_pad.js` (no JupyterLab imports).
 */

/** What anywidget hands `render`: the part of the widget model this view uses. */
interface IAnyModel {
  get(name: string): unknown;
  set(name: string, value: unknown): void;
  save_changes(): void;
  send(content: unknown): void;
  on(name: string, callback: (...args: any[]) => void): void;
  off(name?: string | null, callback?: ((...args: any[]) => void) | null): void;
}

/** Timers and clock, injectable so the send rate can be tested without waiting. */
export interface IPadTimers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: IPadTimers = {
  now: () => (typeof performance !== 'undefined' ? performance.now() : Date.now()),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: handle => clearTimeout(handle as ReturnType<typeof setTimeout>)
};

/**
 * At most one call per `interval` ms while `request()` keeps being called, the last request
 * never lost (a trailing call), and `flush()` to run now as the final one (a stroke's end).
 */
export class SendLimiter {
  constructor(
    private readonly _send: (final: boolean) => void,
    private readonly _interval: () => number,
    private readonly _timers: IPadTimers = realTimers
  ) {}

  request(): void {
    if (this._timer !== null) {
      return; // a trailing send is already due
    }
    const wait = this._last === null ? 0 : this._last + this._interval() - this._timers.now();
    if (wait <= 0) {
      this._run();
    } else {
      this._timer = this._timers.setTimeout(() => {
        this._timer = null;
        this._run();
      }, wait);
    }
  }

  flush(): void {
    this.cancel();
    this._run(true);
  }

  cancel(): void {
    if (this._timer !== null) {
      this._timers.clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _run(final = false): void {
    this._last = this._timers.now();
    this._send(final);
  }

  private _last: number | null = null;
  private _timer: unknown = null;
}

class PredictionPadView {
  constructor(
    private readonly _model: IAnyModel,
    readonly node: HTMLElement
  ) {
    node.classList.add('lepton-pad');
    this._canvas = document.createElement('canvas');
    this._canvas.className = 'lepton-pad-canvas';
    this._canvas.title = 'Draw here (mouse, pen or touch)';
    const context = this._canvas.getContext('2d');
    if (!context) {
      throw new Error('this browser has no 2D canvas');
    }
    this._context = context;

    const tools = document.createElement('div');
    tools.className = 'lepton-pad-tools';
    const brushLabel = document.createElement('label');
    brushLabel.textContent = 'brush ';
    this._brush = document.createElement('input');
    this._brush.type = 'range';
    this._brush.min = '2';
    this._brush.max = '48';
    this._brush.className = 'lepton-pad-brush';
    this._brush.addEventListener('input', () => {
      this._model.set('brush', Number(this._brush.value));
      this._model.save_changes();
    });
    brushLabel.append(this._brush);
    const clear = document.createElement('button');
    clear.className = 'lepton-pad-clear';
    clear.textContent = 'Clear';
    clear.addEventListener('click', () => this._clear());
    const file = document.createElement('input');
    file.type = 'file';
    file.accept = 'image/*,.npy';
    file.hidden = true;
    file.className = 'lepton-pad-file';
    file.addEventListener('change', () => {
      const chosen = file.files?.[0];
      if (chosen) {
        this._upload(chosen);
      }
      file.value = '';
    });
    const upload = document.createElement('button');
    upload.className = 'lepton-pad-upload';
    upload.textContent = 'Upload…';
    upload.addEventListener('click', () => file.click());
    tools.append(brushLabel, clear, upload, file);
    node.append(this._canvas, tools);

    this._limiter = new SendLimiter(
      final => this._sendDrawing(final),
      () => Number(this._model.get('live_interval_ms') ?? 150)
    );
    this._canvas.addEventListener('pointerdown', this._onDown);
    this._canvas.addEventListener('pointermove', this._onMove);
    this._canvas.addEventListener('pointerup', this._onUp);
    this._canvas.addEventListener('pointercancel', this._onUp);

    this._onSize = () => this._resize();
    this._onLook = () => this._paintBackground();
    this._onBrush = () => (this._brush.value = String(this._model.get('brush') ?? 18));
    this._onDrawings = () => (node.dataset.drawings = String(this._model.get('drawings') ?? 0));
    this._model.on('change:side', this._onSize);
    this._model.on('change:background', this._onLook);
    this._model.on('change:paper', this._onLook);
    this._model.on('change:brush', this._onBrush);
    this._model.on('change:drawings', this._onDrawings);
    node.dataset.sent = '0';
    this._onBrush();
    this._onDrawings();
    this._resize();
  }

  dispose(): void {
    this._limiter.cancel();
    this._model.off('change:side', this._onSize);
    this._model.off('change:background', this._onLook);
    this._model.off('change:paper', this._onLook);
    this._model.off('change:brush', this._onBrush);
    this._model.off('change:drawings', this._onDrawings);
  }

  private _resize(): void {
    const side = Number(this._model.get('side') ?? 224);
    this._canvas.width = side;
    this._canvas.height = side;
    this._canvas.style.width = `${side}px`;
    this._canvas.style.height = `${side}px`;
    this._paintBackground();
  }

  /** Paper colour, then the background image (if any) scaled to the canvas without smoothing. */
  private _paintBackground(): void {
    const ctx = this._context;
    const side = this._canvas.width;
    const paint = (image: HTMLImageElement | null) => {
      ctx.fillStyle = String(this._model.get('paper') ?? '#000000');
      ctx.fillRect(0, 0, side, side);
      if (image) {
        ctx.imageSmoothingEnabled = false;
        const scale = side / Math.max(image.naturalWidth, image.naturalHeight);
        const width = image.naturalWidth * scale;
        const height = image.naturalHeight * scale;
        ctx.drawImage(image, (side - width) / 2, (side - height) / 2, width, height);
      }
    };
    const url = String(this._model.get('background') ?? '');
    const token = ++this._paintToken;
    if (!url) {
      paint(null);
      return;
    }
    const image = new Image();
    image.onload = () => {
      if (token === this._paintToken) {
        paint(image);
      }
    };
    image.src = url;
  }

  private _point(event: PointerEvent): [number, number] {
    const box = this._canvas.getBoundingClientRect();
    return [
      ((event.clientX - box.left) * this._canvas.width) / Math.max(1, box.width),
      ((event.clientY - box.top) * this._canvas.height) / Math.max(1, box.height)
    ];
  }

  private _stroke(from: [number, number], to: [number, number]): void {
    const ctx = this._context;
    ctx.strokeStyle = String(this._model.get('ink') ?? '#ffffff');
    ctx.fillStyle = ctx.strokeStyle;
    ctx.lineWidth = Number(this._model.get('brush') ?? 18);
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
  }

  private readonly _onDown = (event: PointerEvent) => {
    event.preventDefault();
    this._canvas.setPointerCapture?.(event.pointerId);
    this._last = this._point(event);
    this._stroke(this._last, this._last); // a dot for a tap
    this._limiter.request();
  };

  private readonly _onMove = (event: PointerEvent) => {
    if (this._last === null) {
      return;
    }
    event.preventDefault();
    const point = this._point(event);
    this._stroke(this._last, point);
    this._last = point;
    this._limiter.request();
  };

  private readonly _onUp = () => {
    if (this._last === null) {
      return;
    }
    this._last = null;
    this._limiter.flush();
  };

  private _sendDrawing(final: boolean): void {
    this._sent += 1;
    this.node.dataset.sent = String(this._sent);
    this._model.send({ type: 'drawing', data: this._canvas.toDataURL('image/png'), final });
  }

  private _clear(): void {
    this._limiter.cancel();
    this._model.set('background', '');
    this._model.save_changes();
    this._paintBackground();
    this._model.send({ type: 'clear' });
  }

  private _upload(file: File): void {
    const reader = new FileReader();
    reader.onload = () => {
      this._model.send({ type: 'upload', name: file.name, data: String(reader.result) });
    };
    reader.readAsDataURL(file);
  }

  private readonly _canvas: HTMLCanvasElement;
  private readonly _context: CanvasRenderingContext2D;
  private readonly _brush: HTMLInputElement;
  private readonly _limiter: SendLimiter;
  private readonly _onSize: () => void;
  private readonly _onLook: () => void;
  private readonly _onBrush: () => void;
  private readonly _onDrawings: () => void;
  private _last: [number, number] | null = null;
  private _sent = 0;
  private _paintToken = 0;
}

function render({ model, el }: { model: IAnyModel; el: HTMLElement }): () => void {
  const view = new PredictionPadView(model, el);
  return () => view.dispose();
}

export default { render };
