// scratchnet explorer: draws what the server's JSON endpoints return (see server.py).
// No framework, no build step. Images come as base64 uint8 with the range they were scaled from.
"use strict";

const $ = (id) => document.getElementById(id);
const SEND_SIDE = 140;          // the pad is sent at this resolution (the server crops and fits)
const POLL_MS = 2000;

const state = {
  model: null, checkpoint: null, drawn: false, inflight: false, pending: false,
  predictions: 0, run: false, confusionTag: null, historyTag: null,
};

// --- small helpers ---------------------------------------------------------------------------
async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  const response = await fetch(path, options);
  let data;
  try { data = await response.json(); } catch (err) { data = {error: response.statusText}; }
  if (!response.ok) {
    const error = new Error(data.error || response.statusText);
    error.status = response.status;
    throw error;
  }
  return data;
}

function showError(err) {
  const box = $("error");
  box.textContent = err ? String(err.message || err) : "";
  box.hidden = !err;
}

function bytesOf(b64) {
  const text = atob(b64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

// Colour maps: 0..255 -> [r, g, b].
const gray = (v) => [v, v, v];
function viridisLike(v) {      // dark blue -> teal -> yellow: zero is clearly dark
  const t = v / 255;
  return [Math.round(255 * Math.min(1, Math.max(0, 1.8 * t - 0.6))),
          Math.round(255 * Math.min(1, 0.15 + 0.85 * t)),
          Math.round(255 * Math.max(0, 0.45 + 0.4 * Math.sin(Math.PI * t) - 0.35 * t))];
}
function diverging(v) {        // blue (negative) - white (zero) - red (positive)
  const t = (v - 127.5) / 127.5;
  return t < 0 ? [Math.round(255 * (1 + t)), Math.round(255 * (1 + t)), 255]
               : [255, Math.round(255 * (1 - t)), Math.round(255 * (1 - t))];
}

function paint(canvas, bytes, offset, width, height, colour) {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = colour(bytes[offset + i]);
    image.data[4 * i] = r; image.data[4 * i + 1] = g; image.data[4 * i + 2] = b;
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

// --- the drawing pad --------------------------------------------------------------------------
const pad = $("pad");
const padCtx = pad.getContext("2d");
let last = null;

function clearPad() {
  padCtx.fillStyle = "#000";
  padCtx.fillRect(0, 0, pad.width, pad.height);
  state.drawn = false;
  $("digit").textContent = "–";
}

function padPoint(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width,
          (event.clientY - box.top) * pad.height / box.height];
}

function strokeTo(point) {
  padCtx.strokeStyle = "#fff";
  padCtx.fillStyle = "#fff";
  padCtx.lineWidth = 20;
  padCtx.lineCap = "round";
  padCtx.lineJoin = "round";
  padCtx.beginPath();
  if (last) { padCtx.moveTo(last[0], last[1]); padCtx.lineTo(point[0], point[1]); padCtx.stroke(); }
  else { padCtx.arc(point[0], point[1], 10, 0, 2 * Math.PI); padCtx.fill(); }
  last = point;
  state.drawn = true;
  schedulePredict();
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  last = null;
  strokeTo(padPoint(event));
});
pad.addEventListener("pointermove", (event) => {
  if (last && (event.buttons || event.pointerType === "touch")) strokeTo(padPoint(event));
});
for (const name of ["pointerup", "pointercancel", "pointerleave"]) {
  pad.addEventListener(name, () => { last = null; });
}
$("clear").addEventListener("click", () => { clearPad(); schedulePredict(); });

function padPixels() {
  const small = el("canvas");
  small.width = SEND_SIDE; small.height = SEND_SIDE;
  const ctx = small.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(pad, 0, 0, SEND_SIDE, SEND_SIDE);
  const rgba = ctx.getImageData(0, 0, SEND_SIDE, SEND_SIDE).data;
  let text = "";
  for (let i = 0; i < SEND_SIDE * SEND_SIDE; i++) text += String.fromCharCode(rgba[4 * i]);
  return {width: SEND_SIDE, height: SEND_SIDE, pixels: btoa(text)};
}

// --- predictions: one request at a time, the newest drawing wins ------------------------------
// body[data-busy] is set while a drawing waits for its prediction (tests wait on it).
function schedulePredict() {
  if (!state.model) return;
  document.body.dataset.busy = "true";
  if (state.inflight) { state.pending = true; return; }
  state.inflight = true;
  state.pending = false;
  api("/api/predict", padPixels())
    .then((result) => { showError(null); renderPrediction(result); })
    .catch(showError)
    .finally(() => {
      state.inflight = false;
      if (state.pending) schedulePredict(); else delete document.body.dataset.busy;
    });
}

function renderPrediction(result) {
  state.predictions += 1;
  const size = state.model.input_size;
  paint($("seen"), bytesOf(result.image), 0, size[1], size[0], gray);
  paint($("saliency"), bytesOf(result.saliency.data), 0, size[1], size[0], diverging);
  $("digit").textContent = state.drawn ? String(result.digit) : "–";
  const bars = $("probabilities").children;
  result.probabilities.forEach((p, k) => {
    bars[k].querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    bars[k].querySelector(".value").textContent = `${(100 * p).toFixed(1)}%`;
    bars[k].classList.toggle("top", k === result.digit);
  });
  $("timing").textContent = `server: ${result.server_ms.toFixed(1)} ms for the prediction, ` +
    "every layer and the saliency" +
    (result.waited_ms > 5 ? ` (after ${result.waited_ms.toFixed(0)} ms behind a test-set pass)`
                          : "");
  result.layers.forEach((view, index) => renderLayer(index, view));
  document.body.dataset.digit = String(result.digit);
  document.body.dataset.predictions = String(state.predictions);
}

// --- the model: layer cards, filters ----------------------------------------------------------
function renderModel(model) {
  state.model = model;
  state.checkpoint = model.checkpoint;
  const epoch = model.epoch === null || model.epoch === undefined ? "" :
    ` · ${model.epoch} epoch${model.epoch === 1 ? "" : "s"} trained`;
  $("model-line").textContent = `${model.name} · ${model.layers.length} layers · ` +
    `input ${model.input_shape.join("x")}${epoch} · ${model.run_dir || model.source}`;
  const probabilities = $("probabilities");
  probabilities.replaceChildren();
  const classes = model.layers[model.layers.length - 1].units;
  for (let k = 0; k < classes; k++) {
    const row = el("div", {class: "bar"});
    row.append(el("span", {class: "label"}, String(k)),
               el("span", {class: "track"}), el("span", {class: "value"}, ""));
    row.querySelector(".track").append(el("span", {class: "fill"}));
    probabilities.append(row);
  }
  const layers = $("layers");
  layers.replaceChildren();
  let deadTotal = 0;
  model.layers.forEach((layer, index) => {
    deadTotal += layer.dead.length;
    const card = el("div", {class: "layer-card", "data-layer": layer.name});
    const head = el("div", {class: "layer-head"});
    head.append(el("strong", {}, layer.name), el("span", {}, ` ${layer.class} `),
                el("span", {class: "hint"}, `→ ${layer.output_shape.join("x")}` +
                  (layer.params ? ` · ${layer.params.toLocaleString()} params` : "")));
    if (layer.dead.length) {
      head.append(el("span", {class: "dead-badge",
                              title: `zero for all ${model.dead_samples} test images`},
                     `${layer.dead.length} of ${layer.units} dead`));
    }
    card.append(head, el("div", {class: "layer-body"}));
    layers.append(card);
    card.deadSet = new Set(layer.dead);
    card.index = index;
  });
  $("dead-line").textContent = `Dead units (red): exactly zero for every one of ` +
    `${model.dead_samples} test images — ${deadTotal} in all.`;
  renderFilters(model.filters);
}

function renderLayer(index, view) {
  const card = $("layers").children[index];
  const body = card.querySelector(".layer-body");
  if (view.kind === "maps") renderMaps(card, body, view);
  else if (view.kind === "bars") renderBars(card, body, view);
  else renderStrip(card, body, view);
  card.dataset.rendered = String(state.predictions);
}

function renderMaps(card, body, view) {
  if (body.dataset.kind !== "maps" || body.children.length !== view.channels) {
    body.replaceChildren();
    body.dataset.kind = "maps";
    body.className = "layer-body tiles";
    for (let c = 0; c < view.channels; c++) {
      const tile = el("canvas", {class: "pixelated map", title: `channel ${c}`});
      if (card.deadSet.has(c)) { tile.classList.add("dead"); tile.title += " (dead)"; }
      tile.style.width = `${Math.max(40, 2 * view.width)}px`;
      body.append(tile);
    }
  }
  const bytes = bytesOf(view.data);
  const colour = view.lo < 0 ? diverging : viridisLike;
  for (let c = 0; c < view.channels; c++) {
    paint(body.children[c], bytes, c * view.height * view.width, view.width, view.height,
          colour);
  }
}

function renderBars(card, body, view) {
  let canvas = body.querySelector("canvas");
  if (body.dataset.kind !== "bars") {
    body.replaceChildren();
    body.dataset.kind = "bars";
    body.className = "layer-body";
    canvas = el("canvas", {class: "bars"});
    body.append(canvas);
  }
  const n = view.values.length;
  const step = Math.max(3, Math.min(24, Math.floor(900 / n)));
  canvas.width = n * step;
  canvas.height = 80;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const span = Math.max(view.hi - view.lo, 1e-12);
  const zero = 70 * view.hi / span;
  ctx.fillStyle = "#ccc";
  ctx.fillRect(0, zero, canvas.width, 1);
  view.values.forEach((v, i) => {
    const height = 70 * v / span;
    ctx.fillStyle = card.deadSet.has(i) ? "#d33" : (v >= 0 ? "#2b7bb9" : "#e08a2c");
    ctx.fillRect(i * step, zero - Math.max(height, 0), Math.max(1, step - 1), Math.abs(height));
    if (card.deadSet.has(i)) ctx.fillRect(i * step, 74, Math.max(1, step - 1), 6);
  });
}

function renderStrip(card, body, view) {
  let canvas = body.querySelector("canvas");
  if (body.dataset.kind !== "strip") {
    body.replaceChildren();
    body.dataset.kind = "strip";
    body.className = "layer-body";
    canvas = el("canvas", {class: "pixelated strip", title: `${view.units} values`});
    body.append(canvas, el("span", {class: "hint"}, ` ${view.units} values, row by row`));
  }
  paint(canvas, bytesOf(view.data), 0, view.width, view.height,
        view.lo < 0 ? diverging : viridisLike);
}

function renderFilters(filters) {
  $("filters-section").hidden = !filters;
  if (!filters) return;
  $("filters-line").textContent = `${filters.layer}: ${filters.count} of ${filters.total}, ` +
    `${filters.height}x${filters.width} (red positive, blue negative, ±${filters.limit.toPrecision(3)})`;
  const box = $("filters");
  box.replaceChildren();
  const bytes = bytesOf(filters.data);
  for (let k = 0; k < filters.count; k++) {
    const tile = el("canvas", {class: "pixelated filter", title: `filter ${k}`});
    paint(tile, bytes, k * filters.height * filters.width, filters.width, filters.height,
          diverging);
    box.append(tile);
  }
}

// --- the run: curves, status, live following --------------------------------------------------
function drawCurves(canvas, title, history, keys) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, left = 48, right = 10, top = 24, bottom = 30;
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = "#222"; ctx.font = "13px sans-serif";
  ctx.fillText(title, left, 15);
  const series = keys.filter((k) => history.history[k] && history.history[k].length);
  const epochs = history.epoch.map((e) => e + 1);
  const values = series.flatMap((k) => history.history[k]).filter((v) => Number.isFinite(v));
  if (!values.length) { ctx.fillText("no epoch finished yet", left, h / 2); return; }
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const x0 = Math.min(...epochs), x1 = Math.max(...epochs, x0 + 1);
  const px = (e) => left + (w - left - right) * (e - x0) / (x1 - x0);
  const py = (v) => top + (h - top - bottom) * (1 - (v - lo) / (hi - lo));
  ctx.strokeStyle = "#999"; ctx.lineWidth = 1;
  ctx.strokeRect(left, top, w - left - right, h - top - bottom);
  ctx.fillStyle = "#555"; ctx.font = "11px sans-serif";
  ctx.fillText(hi.toPrecision(3), 4, top + 8);
  ctx.fillText(lo.toPrecision(3), 4, h - bottom);
  ctx.fillText(`epoch ${x0}`, left, h - 10);
  ctx.fillText(String(x1), w - right - 16, h - 10);
  const colours = ["#2b7bb9", "#e08a2c"];
  series.forEach((key, s) => {
    ctx.strokeStyle = ctx.fillStyle = colours[s % 2]; ctx.lineWidth = 2;
    ctx.beginPath();
    history.history[key].forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      const [x, y] = [px(epochs[i]), py(v)];
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      ctx.fillRect(x - 2, y - 2, 4, 4);
    });
    ctx.stroke();
    ctx.fillText(key, w - right - 110, top + 14 + 14 * s);
  });
}

function renderRun(run) {
  state.run = true;
  $("run-section").hidden = false;
  $("run-status").textContent = run.status;
  const settings = run.settings || {};
  const evaluation = run.evaluation ? ` · test accuracy ${(100 * run.evaluation.accuracy)
    .toFixed(2)}% on ${run.evaluation.samples}` : "";
  $("run-line").textContent = `${run.run_dir} · ${settings.model || "model"} · ` +
    `${run.history.epoch.length} of ${settings.epochs ?? "?"} epochs${evaluation}`;
  drawCurves($("loss-curve"), "loss", run.history, ["loss", "val_loss"]);
  drawCurves($("accuracy-curve"), "accuracy", run.history, ["accuracy", "val_accuracy"]);
  const files = $("run-files");
  files.replaceChildren(document.createTextNode("run files: "));
  for (const name of run.files) {
    files.append(el("a", {href: `/run/${encodeURIComponent(name)}`, target: "_blank"}, name),
                 document.createTextNode(" "));
  }
}

async function loadModel() {
  try {
    renderModel(await api("/api/model"));
    showError(null);
    schedulePredict();
    loadConfusion();
  } catch (err) {
    if (err.status === 503) $("model-line").textContent = err.message; else showError(err);
  }
}

async function poll() {
  try {
    const run = await api("/api/run");
    if (run.run_dir) {
      renderRun(run);
      if (run.checkpoint && run.checkpoint !== state.checkpoint) await loadModel();
    }
    if (!run.run_dir) return;         // a model file: nothing to follow
  } catch (err) {
    showError(err);
  }
  setTimeout(poll, POLL_MS);
}

// --- the confusion matrix ---------------------------------------------------------------------
async function loadConfusion() {
  const tag = state.checkpoint;
  $("confusion-line").textContent = "computing…";
  let result;
  try { result = await api("/api/confusion"); } catch (err) { showError(err); return; }
  if (tag !== state.checkpoint) return;
  state.confusionTag = result.checkpoint;
  $("confusion-line").textContent = `${result.samples} test digits, accuracy ` +
    `${(100 * result.accuracy).toFixed(2)}% (rows: true class, columns: predicted)`;
  const table = $("confusion");
  table.replaceChildren();
  const head = el("tr");
  head.append(el("th", {}, ""));
  for (let j = 0; j < result.matrix.length; j++) head.append(el("th", {}, String(j)));
  table.append(head);
  result.matrix.forEach((row, i) => {
    const tr = el("tr");
    tr.append(el("th", {}, String(i)));
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((count, j) => {
      const share = count / total;
      const cell = el("td", {class: i === j ? "diag" : "off", "data-true": i, "data-predicted": j,
                             title: `true ${i}, predicted ${j}: ${count}`}, String(count));
      const alpha = i === j ? share : Math.min(1, Math.sqrt(share) * 2);
      cell.style.background = i === j ? `rgba(43,123,185,${alpha})` : `rgba(221,51,51,${alpha})`;
      if (count) cell.addEventListener("click", () => showCell(i, j));
      tr.append(cell);
    });
    table.append(tr);
  });
  document.body.dataset.confusion = "ready";
}

async function showCell(trueClass, predicted) {
  try {
    const cell = await api(`/api/confusion/cell?true=${trueClass}&predicted=${predicted}`);
    $("cell-title").textContent = `true ${cell.true}, predicted ${cell.predicted}: ` +
      `${cell.count} test digit${cell.count === 1 ? "" : "s"}` +
      (cell.count > cell.images.length ? ` (first ${cell.images.length})` : "");
    const box = $("cell-digits");
    box.replaceChildren();
    cell.images.forEach((image, k) => {
      const tile = el("canvas", {class: "pixelated digit-tile", title: `test #${cell.indices[k]}`});
      paint(tile, bytesOf(image), 0, cell.width, cell.height, gray);
      box.append(tile);
    });
  } catch (err) { showError(err); }
}

// --- the doctor -------------------------------------------------------------------------------
$("doctor-run").addEventListener("click", async () => {
  const button = $("doctor-run");
  const out = $("doctor");
  button.disabled = true;
  out.textContent = "examining the model… (the training checks take longer)";
  try {
    const report = await api("/api/doctor", {training_checks: $("doctor-training").checked});
    out.replaceChildren(el("p", {}, `${report.model}: ${report.counts.error} error(s), ` +
      `${report.counts.warning} warning(s), ${report.counts.info} info in ${report.seconds} s` +
      (report.healthy ? " — no problems found above info level." : "")));
    for (const finding of report.findings) {
      const box = el("div", {class: `finding ${finding.severity}`});
      box.append(el("strong", {}, `${finding.severity.toUpperCase()} ${finding.code}`),
                 el("span", {}, ` at ${finding.layer}`),
                 el("div", {}, `cause: ${finding.cause}`), el("div", {}, `fix: ${finding.fix}`),
                 el("div", {class: "hint"}, `evidence: ${JSON.stringify(finding.evidence)}`));
      out.append(box);
    }
    for (const note of report.notes) out.append(el("p", {class: "hint"}, `note: ${note}`));
    document.body.dataset.doctor = "ready";
  } catch (err) {
    out.textContent = "";
    showError(err);
  } finally {
    button.disabled = false;
  }
});

clearPad();
loadModel().then(poll);
