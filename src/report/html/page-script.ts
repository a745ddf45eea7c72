/**
 * The report's inline script (plain ES2020, no library): decodes each map's run records
 * (map-model.ts describes the layout) with the browser's DecompressionStream, aggregates the
 * runs in view into at most 4096 cells per region, draws them on a canvas, zooms, and shows the
 * hover read-outs for maps and series charts. Capture strings are only ever set as textContent.
 *
 * Kept as a string so the build needs no bundler; it is written without template literals.
 */
import {LEAF_COLORS} from './page-style.js'

export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var CATS = ['PTE', 'CONT_PTE', 'PMD', 'CONT_PMD', 'PUD', 'INVALID', 'HOLE'];
  var CAT_LABEL = ['PTE', 'cont-PTE', 'PMD', 'cont-PMD', 'PUD', 'invalid', 'hole'];
  var COLORS = ` + JSON.stringify(LEAF_COLORS) + String.raw`;
  var SUMMARY = 7, HOLE = 6, NC = 7;
  var MAXCELLS = 4096;
  var KVA_END = 4503599627370496;
  var tip = document.getElementById('tip');
  window.__ptreplay = {maps: 0, mapsReady: 0, errors: []};

  function hex(k) {
    if (k >= KVA_END) return '0x0000000000000000';
    var s = k.toString(16);
    while (s.length < 13) s = '0' + s;
    return '0xfff' + s;
  }
  function size(b) {
    if (b === 0) return '0';
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'], i = 0, v = b;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    var t = Number.isInteger(v) ? String(v) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2);
    return t + ' ' + u[i];
  }
  function int(n) { return Math.round(n).toLocaleString('en-US'); }
  function pct(f) { var p = f * 100; return (p >= 10 ? p.toFixed(0) : p.toFixed(1)) + '%'; }
  function alignDown(x, a) { return x - (x % a); }
  function pow2ceil(x) { var p = 1; while (p < x) p *= 2; return p; }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ---- tooltip ----
  function showTip(ev, lines) {
    tip.textContent = '';
    lines.forEach(function (l) {
      var d = el('div', l[1] || '', l[0]);
      tip.appendChild(d);
    });
    tip.hidden = false;
    var x = ev.clientX + 14, y = ev.clientY + 14;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    if (x + w > window.innerWidth - 4) x = Math.max(4, ev.clientX - w - 14);
    if (y + h > window.innerHeight - 4) y = Math.max(4, ev.clientY - h - 14);
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  }
  function hideTip() { tip.hidden = true; }

  // ---- decoding ----
  function inflate(b64) {
    var bin = atob(b64);
    var u = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
    var stream = new Blob([u]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Response(stream).arrayBuffer().then(function (b) { return new Uint8Array(b); });
  }
  function decodeRegion(reg, pageSize, bytes) {
    var cap = Math.max(1, Math.ceil(bytes.length / 2));
    var start = new Float64Array(cap), end = new Float64Array(cap);
    var code = new Uint8Array(cap), lvl = new Uint8Array(cap), chg = new Uint8Array(cap);
    var prot = new Int32Array(cap);
    var sums = [];
    var sumIdx = new Int32Array(cap);
    var i = 0, n = 0, cursor = reg.start, lastProt = -1, lastEnd = -1;
    function varint() {
      var v = 0, m = 1, b;
      for (;;) { b = bytes[i++]; v += (b % 128) * m; if (b < 128) return v; m *= 128; }
    }
    while (i < bytes.length) {
      var h = bytes[i++];
      var c = h % 8;
      if (Math.floor(h / 8) % 2 === 1) cursor += varint() * pageSize;
      var len = varint() * pageSize;
      start[n] = cursor; end[n] = cursor + len; code[n] = c; lvl[n] = Math.floor(h / 16); sumIdx[n] = -1;
      if (c === SUMMARY) {
        var f = [];
        for (var k = 0; k < NC; k++) f.push(bytes[i++] / 255);
        sumIdx[n] = sums.length;
        sums.push({f: f, runs: varint(), chg: varint()});
        prot[n] = -1;
        lastProt = -1;
      } else {
        prot[n] = c === HOLE ? -1 : varint();
        if (c !== HOLE) {
          if (lastProt >= 0 && lastEnd === cursor && lastProt !== prot[n]) chg[n] = 1;
          lastProt = prot[n];
        } else {
          lastProt = -1;
        }
      }
      cursor += len;
      lastEnd = cursor;
      n++;
    }
    return {n: n, start: start, end: end, code: code, lvl: lvl, chg: chg, prot: prot, sums: sums, sumIdx: sumIdx};
  }

  // ---- aggregation of the records in view into cells ----
  function firstEndAfter(d, x) {
    var lo = 0, hi = d.n;
    while (lo < hi) { var m = (lo + hi) >> 1; if (d.end[m] > x) hi = m; else lo = m + 1; }
    return lo;
  }
  function aggregate(d, view) {
    var N = view.n, cs = view.cell, vs = view.start, ve = vs + N * cs;
    var acc = new Float64Array(N * NC), bnd = new Uint8Array(N);
    var firstRec = new Int32Array(N).fill(-1), lastRec = new Int32Array(N).fill(-1);
    for (var i = firstEndAfter(d, vs); i < d.n && d.start[i] < ve; i++) {
      var s = Math.max(d.start[i], vs), e = Math.min(d.end[i], ve);
      var c0 = Math.floor((s - vs) / cs), c1 = Math.floor((e - 1 - vs) / cs);
      var si = d.sumIdx[i];
      for (var c = c0; c <= c1; c++) {
        var cellS = vs + c * cs;
        var ov = Math.min(e, cellS + cs) - Math.max(s, cellS);
        if (si >= 0) {
          var f = d.sums[si].f;
          for (var k = 0; k < NC; k++) acc[c * NC + k] += ov * f[k];
          if (d.sums[si].chg > 0) bnd[c] |= 1;
        } else {
          acc[c * NC + d.code[i]] += ov;
        }
        if (firstRec[c] < 0) firstRec[c] = i;
        lastRec[c] = i;
      }
      if (d.chg[i] && d.start[i] >= vs) {
        var cb = Math.floor((d.start[i] - vs) / cs);
        bnd[cb] |= (d.start[i] - vs) % cs === 0 ? 2 : 1;
      }
    }
    return {acc: acc, bnd: bnd, firstRec: firstRec, lastRec: lastRec};
  }

  // ---- one region's map (possibly several columns sharing the view) ----
  function RegionMap(section, name, entries, geo) {
    this.entries = entries; // [{col, reg, d, canvas, status, agg}]
    this.geo = geo;
    var es = Infinity, ee = 0, rs = Infinity, re = 0;
    entries.forEach(function (x) {
      es = Math.min(es, x.reg.extentStart); ee = Math.max(ee, x.reg.extentEnd);
      rs = Math.min(rs, x.reg.start); re = Math.max(re, x.reg.end);
    });
    this.regionStart = rs; this.regionEnd = re;
    if (!(ee > es)) { es = rs; ee = Math.min(re, rs + geo.minViewBytes); }
    var cell = Math.max(geo.pageSize, pow2ceil(Math.ceil((ee - es) / MAXCELLS)));
    var start, n;
    for (;;) {
      start = alignDown(es, cell);
      if (ee - start < geo.minViewBytes) { start = alignDown(es, geo.minViewBytes); ee = Math.max(ee, start + geo.minViewBytes); }
      n = Math.max(1, Math.ceil((ee - start) / cell));
      if (n <= MAXCELLS) break;
      cell *= 2;
    }
    this.home = {start: start, cell: cell, n: n};
    this.view = this.home;
  }
  RegionMap.prototype.cols = function (n) { return n >= 2048 ? 128 : n >= 256 ? 64 : Math.min(n, 32); };
  RegionMap.prototype.zoomIn = function (cellIndex) {
    var v = this.view, g = this.geo;
    var cellStart = v.start + cellIndex * v.cell;
    var span, cell;
    if (v.cell > g.pageSize) {
      cell = Math.max(g.pageSize, v.cell / 8);
      span = cell * MAXCELLS;
      if (cell === g.pageSize) span = Math.max(g.minViewBytes, span);
    } else {
      cell = g.pageSize;
      span = Math.max(g.minViewBytes, (v.n * v.cell) / 8);
      if (span >= v.n * v.cell) return;
    }
    span = pow2ceil(span);
    var start = alignDown(cellStart, span);
    this.view = {start: start, cell: cell, n: Math.round(span / cell)};
    this.drawAll();
  };
  RegionMap.prototype.zoomOut = function () {
    var v = this.view, g = this.geo, span = v.n * v.cell, cell;
    if (v === this.home) return;
    if (span < MAXCELLS * v.cell) { cell = v.cell; span = Math.min(MAXCELLS * cell, span * 8); }
    else { cell = v.cell * 8; span = MAXCELLS * cell; }
    if (cell >= this.home.cell || span >= this.home.n * this.home.cell) { this.view = this.home; this.drawAll(); return; }
    this.view = {start: alignDown(v.start, span), cell: cell, n: Math.round(span / cell)};
    this.drawAll();
  };
  RegionMap.prototype.drawAll = function () {
    var self = this;
    this.entries.forEach(function (x) { self.draw(x); });
  };
  RegionMap.prototype.draw = function (x) {
    var v = this.view, cols = this.cols(v.n), rows = Math.ceil(v.n / cols);
    var px = Math.max(2, Math.floor(x.width / cols));
    var cv = x.canvas;
    cv.width = cols * px; cv.height = rows * px;
    var ctx = cv.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, cv.width, cv.height);
    var a = aggregate(x.d, v);
    x.agg = a; x.cols = cols; x.px = px;
    for (var c = 0; c < v.n; c++) {
      var cx = (c % cols) * px, cy = Math.floor(c / cols) * px;
      var cs = v.start + c * v.cell;
      if (cs >= x.reg.end || cs + v.cell <= x.reg.start) { ctx.fillStyle = '#e9ecef'; ctx.fillRect(cx, cy, px, px); continue; }
      var best = -1, bestB = 0, mapped = 0, bestM = -1, bestMB = 0;
      for (var k = 0; k < NC - 1; k++) {
        var b = a.acc[c * NC + k];
        mapped += b;
        if (b > bestMB) { bestMB = b; bestM = k; }
      }
      var holeB = v.cell - mapped;
      if (bestM >= 0 && bestMB >= holeB) { best = bestM; bestB = bestMB; }
      if (best >= 0) {
        ctx.fillStyle = COLORS[best];
        ctx.fillRect(cx, cy, px, px);
      } else if (bestM >= 0) {
        // Mostly hole: the mapped part as a smaller square.
        ctx.fillStyle = COLORS[bestM];
        var q = Math.max(1, Math.round(px / 2));
        ctx.fillRect(cx + (px - q) / 2, cy + (px - q) / 2, q, q);
      }
      if (px >= 4) { ctx.strokeStyle = 'rgba(255,255,255,0.35)'; ctx.lineWidth = 1; ctx.strokeRect(cx + 0.5, cy + 0.5, px - 1, px - 1); }
    }
    // Attribute changes: outline the cell (inside) or a bar on its left edge (at its start).
    ctx.fillStyle = '#111111';
    ctx.strokeStyle = '#111111';
    for (var c2 = 0; c2 < v.n; c2++) {
      var m = a.bnd[c2];
      if (!m) continue;
      var x2 = (c2 % cols) * px, y2 = Math.floor(c2 / cols) * px;
      if (m & 2) ctx.fillRect(x2, y2, Math.max(1, Math.floor(px / 4)), px);
      if (m & 1) { ctx.lineWidth = px >= 6 ? 1.5 : 1; ctx.strokeRect(x2 + 0.75, y2 + 0.75, px - 1.5, px - 1.5); }
    }
    var span = v.n * v.cell;
    // The addresses stay on one line; the rest may wrap.
    x.status.textContent = '';
    x.status.appendChild(el('span', 'view', 'view ' + hex(v.start) + '–' + hex(v.start + span)));
    x.status.appendChild(document.createTextNode(' '));
    x.status.appendChild(el('span', 'view', '(' + size(span) + '), cell ' + size(v.cell)));
    if (x.reg.detailBytes > this.geo.pageSize) x.status.appendChild(el('span', '', ', detail below ' + size(x.reg.detailBytes) + ' summarised'));
    x.outBtn.disabled = v === this.home;
    x.inBtn.disabled = v.cell === this.geo.pageSize && span <= this.geo.minViewBytes;
  };
  RegionMap.prototype.cellAt = function (x, ev) {
    var r = x.canvas.getBoundingClientRect();
    var sx = x.canvas.width / r.width, sy = x.canvas.height / r.height;
    var col = Math.floor(((ev.clientX - r.left) * sx) / x.px), row = Math.floor(((ev.clientY - r.top) * sy) / x.px);
    if (col < 0 || col >= x.cols || row < 0) return -1;
    var c = row * x.cols + col;
    return c < this.view.n ? c : -1;
  };
  RegionMap.prototype.describe = function (x, c) {
    var v = this.view, d = x.d, a = x.agg, col = x.col;
    var cs = v.start + c * v.cell, ce = cs + v.cell;
    var lines = [[hex(cs) + '–' + hex(ce) + '  (' + size(v.cell) + ')', 't-range']];
    if (x.colLabel) lines.unshift([x.colLabel, '']);
    var f = a.firstRec[c], l = a.lastRec[c];
    if (f < 0) { lines.push(['not mapped (no entry)', '']); }
    else if (f === l && d.sumIdx[f] < 0 && d.start[f] <= cs && d.end[f] >= ce) {
      var code = d.code[f];
      var lv = this.geo.levelNames[d.lvl[f]] || ('level ' + d.lvl[f]);
      if (code === HOLE) lines.push(['hole: ' + lv + ' entry is none', '']);
      else lines.push([CAT_LABEL[code] + ' leaf at ' + lv + ' level', '']);
      if (d.prot[f] >= 0) lines.push(['attributes: ' + col.prots[d.prot[f]], '']);
      lines.push(['run ' + hex(d.start[f]) + '–' + hex(d.end[f]) + ' (' + size(d.end[f] - d.start[f]) + ')', 't-range']);
    } else {
      var mix = [];
      for (var k = 0; k < NC; k++) { var b = a.acc[c * NC + k]; if (k === HOLE) continue; if (b > 0) mix.push(CAT_LABEL[k] + ' ' + pct(b / v.cell)); }
      var mapped = 0; for (var k2 = 0; k2 < NC - 1; k2++) mapped += a.acc[c * NC + k2];
      if (mapped < v.cell) mix.push('hole ' + pct((v.cell - mapped) / v.cell));
      lines.push([mix.join(' · '), '']);
      var runs = 0, chg = 0, summarised = false, protSeen = {}, protList = [];
      for (var i = f; i <= l; i++) {
        if (d.sumIdx[i] >= 0) { summarised = true; runs += d.sums[d.sumIdx[i]].runs; chg += d.sums[d.sumIdx[i]].chg; continue; }
        runs++;
        if (d.chg[i] && d.start[i] > cs) chg++;
        if (d.prot[i] >= 0 && !protSeen[d.prot[i]]) { protSeen[d.prot[i]] = 1; protList.push(col.prots[d.prot[i]]); }
      }
      lines.push([int(runs) + ' runs · ' + int(chg) + ' attribute changes', '']);
      protList.slice(0, 3).forEach(function (p) { lines.push(['attributes: ' + p, '']); });
      if (protList.length > 3) lines.push(['… ' + (protList.length - 3) + ' more attribute sets', '']);
      if (summarised) lines.push(['detail below ' + size(x.reg.detailBytes) + ' was summarised to keep the report small', '']);
    }
    var ev = col.events, hits = 0, shown = 0;
    for (var j = 0; j < ev.length; j += 3) {
      if (ev[j] >= ce) break;
      if (ev[j + 1] > cs) {
        hits++;
        if (shown < 6) { lines.push([col.eventLabels[ev[j + 2]] + '  ' + hex(ev[j]) + '–' + hex(ev[j + 1]), 't-ev']); shown++; }
      }
    }
    if (hits > shown) lines.push(['… ' + int(hits - shown) + ' more events', 't-ev']);
    else if (!hits && ev.length) lines.push(['no recorded event touched this range', '']);
    return lines;
  };

  function initMapSection(host) {
    var id = host.getAttribute('data-map-section');
    var columns = JSON.parse(document.getElementById('map-data-' + id).textContent);
    var byName = {};
    var jobs = [];
    columns.forEach(function (col, ci) {
      col.regions.forEach(function (reg) {
        var regEl = host.querySelector('.map-region[data-col="' + ci + '"][data-region="' + CSS.escape(reg.name) + '"]');
        var slot = regEl.querySelector('.map-slot');
        // As wide as the map's place on the page (a multi-column grid cell), at most 768 px.
        var width = Math.max(200, Math.min(768, slot.clientWidth || 768));
        var tools = el('div', 'map-tools');
        var outBtn = el('button', '', '− zoom out'), homeBtn = el('button', '', 'whole extent'), inBtn = el('button', '', '+ zoom in');
        outBtn.type = homeBtn.type = inBtn.type = 'button';
        tools.appendChild(outBtn); tools.appendChild(inBtn); tools.appendChild(homeBtn);
        var canvas = el('canvas', 'map-canvas');
        canvas.setAttribute('data-region', reg.name);
        var status = el('div', 'map-status');
        slot.appendChild(tools); slot.appendChild(canvas); slot.appendChild(status);
        var entry = {col: col, colLabel: columns.length > 1 ? col.label : '', reg: reg, canvas: canvas, status: status, outBtn: outBtn, inBtn: inBtn, width: width};
        (byName[reg.name] = byName[reg.name] || {entries: [], geo: col.geometry}).entries.push(entry);
        entry.homeBtn = homeBtn;
        window.__ptreplay.maps++;
        jobs.push(inflate(reg.records).then(function (bytes) { entry.d = decodeRegion(reg, col.geometry.pageSize, bytes); }));
      });
    });
    return Promise.all(jobs).then(function () {
      Object.keys(byName).forEach(function (name) {
        var g = byName[name];
        var rm = new RegionMap(id, name, g.entries, g.geo);
        g.entries.forEach(function (x) {
          x.canvas.addEventListener('click', function (ev) {
            var c = rm.cellAt(x, ev);
            if (c < 0) return;
            if (ev.shiftKey) rm.zoomOut(); else rm.zoomIn(c);
            var lines = rm.cellAt(x, ev) >= 0 ? rm.describe(x, rm.cellAt(x, ev)) : null;
            if (lines) showTip(ev, lines);
          });
          x.canvas.addEventListener('contextmenu', function (ev) { ev.preventDefault(); rm.zoomOut(); });
          x.canvas.addEventListener('wheel', function (ev) {
            var c = rm.cellAt(x, ev);
            if (c < 0) return;
            ev.preventDefault();
            if (ev.deltaY < 0) rm.zoomIn(c); else rm.zoomOut();
          }, {passive: false});
          x.canvas.addEventListener('mousemove', function (ev) {
            var c = rm.cellAt(x, ev);
            if (c < 0) { hideTip(); return; }
            showTip(ev, rm.describe(x, c));
          });
          x.canvas.addEventListener('mouseleave', hideTip);
          x.outBtn.addEventListener('click', function () { rm.zoomOut(); });
          x.inBtn.addEventListener('click', function () { rm.zoomIn(Math.floor(rm.view.n / 2)); });
          x.homeBtn.addEventListener('click', function () { rm.view = rm.home; rm.drawAll(); });
        });
        rm.drawAll();
        window.__ptreplay.mapsReady += g.entries.length;
      });
    });
  }

  // ---- series hover ----
  function initSeries(panel, data) {
    var svg = panel.querySelector('svg');
    var guide = svg.querySelector('.guide');
    var vb = svg.viewBox.baseVal;
    svg.addEventListener('mousemove', function (ev) {
      var r = svg.getBoundingClientRect();
      var xv = ((ev.clientX - r.left) / r.width) * vb.width;
      if (xv < data.plot[0] - 4 || xv > data.plot[1] + 4 || !data.buckets.length) { hideTip(); guide.setAttribute('visibility', 'hidden'); return; }
      // The bucket nearest to the pointer (buckets are in x order).
      var lo = 0, hi = data.px.length - 1;
      while (lo < hi) { var m = (lo + hi) >> 1; if (data.px[m] < xv) lo = m + 1; else hi = m; }
      if (lo > 0 && xv - data.px[lo - 1] < data.px[lo] - xv) lo--;
      var b = data.buckets[lo];
      guide.setAttribute('x1', String(data.px[lo])); guide.setAttribute('x2', String(data.px[lo])); guide.setAttribute('visibility', 'visible');
      var lines = [[data.xText[lo], 't-range']];
      data.names.forEach(function (n, i) { lines.push([n + ': ' + (data.formats[i] === 'bytes' ? size(b[2 + i]) : int(b[2 + i])), '']); });
      showTip(ev, lines);
    });
    svg.addEventListener('mouseleave', function () { hideTip(); guide.setAttribute('visibility', 'hidden'); });
  }

  window.addEventListener('error', function (e) { window.__ptreplay.errors.push(String(e.message)); });
  var jobs = [];
  document.querySelectorAll('[data-map-section]').forEach(function (host) { jobs.push(initMapSection(host)); });
  var seriesData = {};
  document.querySelectorAll('.panel[data-series]').forEach(function (p) {
    var id = p.getAttribute('data-series');
    if (!seriesData[id]) seriesData[id] = JSON.parse(document.getElementById('series-data-' + id).textContent);
    initSeries(p, seriesData[id][Number(p.getAttribute('data-panel'))]);
  });
  Promise.all(jobs).then(function () {
    window.__ptreplay.ready = true;
    window.__ptreplay.readyAt = performance.now();
    document.documentElement.setAttribute('data-ready', '1');
  }, function (e) {
    window.__ptreplay.errors.push(String(e));
    console.error('ptreplay report: ' + e);
  });
})();
`
