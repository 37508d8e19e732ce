/* AudioWorklet: microphone Float32 at the context rate -> 16 kHz mono PCM s16le chunks (~100 ms).
 * When the context already runs at 16 kHz (Chromium resamples the microphone for us) this only
 * converts; otherwise it low-passes (moving average over the decimation window) and resamples
 * linearly. Posts {pcm: ArrayBuffer, level: 0..1} to the page. */
class PcmWorklet extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.target = (options && options.processorOptions && options.processorOptions.targetRate) || 16000;
    this.ratio = sampleRate / this.target;
    this.chunk = Math.round(this.target / 10);
    this.out = new Int16Array(this.chunk);
    this.n = 0;
    this.pos = 0;       // fractional read position into the incoming stream (input samples)
    this.prev = 0;      // last filtered input sample, for interpolation across blocks
    this.acc = 0;
    this.peak = 0;
  }
  process(inputs) {
    const input = inputs[0];
    if (!input || !input.length) return true;
    const ch = input[0];
    const len = ch.length;
    // mono mix if several channels
    let x = ch;
    if (input.length > 1) {
      x = new Float32Array(len);
      for (let c = 0; c < input.length; c++) for (let i = 0; i < len; i++) x[i] += input[c][i] / input.length;
    }
    if (this.ratio === 1) {
      for (let i = 0; i < len; i++) this.push(x[i]);
    } else {
      // simple anti-alias: moving average over ~ratio samples, then linear interpolation
      const w = Math.max(1, Math.floor(this.ratio));
      const f = new Float32Array(len);
      for (let i = 0; i < len; i++) {
        this.acc = this.acc + (x[i] - this.acc) / w;
        f[i] = this.acc;
      }
      while (this.pos < len) {
        const i0 = Math.floor(this.pos);
        const frac = this.pos - i0;
        const a = i0 - 1 < 0 ? this.prev : f[i0 - 1];
        const b = f[i0];
        this.push(a + (b - a) * frac);
        this.pos += this.ratio;
      }
      this.pos -= len;
      this.prev = f[len - 1];
    }
    return true;
  }
  push(v) {
    const s = Math.max(-1, Math.min(1, v));
    const a = Math.abs(s);
    if (a > this.peak) this.peak = a;
    this.out[this.n++] = s < 0 ? s * 0x8000 : s * 0x7fff;
    if (this.n === this.chunk) {
      const buf = this.out.buffer;
      this.port.postMessage({ pcm: buf, level: this.peak }, [buf]);
      this.out = new Int16Array(this.chunk);
      this.n = 0;
      this.peak = 0;
    }
  }
}
registerProcessor("pcm-worklet", PcmWorklet);
