/** The report's inline stylesheet. Leaf colours run cool (large leaves) to hot (4K pages). */
export const LEAF_COLORS = ['#d64541', '#ee9a3a', '#4fa79a', '#3f7fc0', '#1d3f7a', '#8e44ad'] as const

export const PAGE_STYLE = `
:root{--fg:#1b1f24;--muted:#5b6570;--rule:#d7dce1;--bg:#fff}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:20px 28px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--rule);padding-bottom:4px}
h3{font-size:14px;margin:6px 0}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0 0 8px;font-size:13px}
dl.meta dt{color:var(--muted)}dl.meta dd{margin:0;font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
table.numbers{border-collapse:collapse;margin:10px 0;font-size:12.5px;font-variant-numeric:tabular-nums}
table.numbers th,table.numbers td{padding:3px 9px;border-bottom:1px solid var(--rule)}
table.numbers th{background:#f4f6f8;font-weight:600}
.l{text-align:left}.r{text-align:right}
table.numbers td{vertical-align:top}table.numbers td.l{max-width:620px}
.range-item{margin:10px 0 14px;padding-left:10px;border-left:3px solid var(--rule)}
.range-head{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;font-weight:600}
.range-why{font-size:13px;margin:2px 0}
pre.runs{margin:4px 0;padding:6px 8px;background:#f6f8fa;font-size:11.5px;line-height:1.4;overflow-x:auto;max-width:100%}
ul.range-notes{margin:2px 0;padding-left:18px;font-size:12.5px;color:var(--muted)}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12.5px;margin:4px 0}
.key{display:inline-flex;align-items:center;gap:5px}
.sw{display:inline-block;width:13px;height:13px;border:1px solid #0002}
.sw.c0{background:${LEAF_COLORS[0]}}.sw.c1{background:${LEAF_COLORS[1]}}.sw.c2{background:${LEAF_COLORS[2]}}
.sw.c3{background:${LEAF_COLORS[3]}}.sw.c4{background:${LEAF_COLORS[4]}}.sw.c5{background:${LEAF_COLORS[5]}}
.sw.hole{background:#fff}.sw.chg{background:#fff;border:2px solid #111}
.hint,.note{color:var(--muted);font-size:12.5px;margin:4px 0}
.headline{margin:2px 0 12px;font-size:16px;font-weight:600}.headline p{margin:2px 0}
.maps{display:block}.map-col-label{margin:4px 0 0;font-size:13px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.map-region{margin:10px 0 14px;min-width:0}
.map-row{margin:14px 0 18px}.map-cols{display:grid;gap:0 18px}.map-cols .map-region{margin:4px 0 8px}
.bounds{white-space:nowrap}.map-status .view{white-space:nowrap}
.map-head{font-size:13px}.bounds,.map-status{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;color:var(--muted)}
.map-tools{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:4px 0}
.map-tools button{white-space:nowrap;font:12px system-ui,sans-serif;padding:2px 8px;border:1px solid var(--rule);background:#f7f8fa;border-radius:3px;cursor:pointer}
.map-tools button:disabled{opacity:.45;cursor:default}
canvas.map-canvas{display:block;max-width:100%;cursor:zoom-in;image-rendering:pixelated;border:1px solid var(--rule)}
svg{display:block;max-width:100%;height:auto;font:11px system-ui,sans-serif}
svg .grid{stroke:#e6e9ec}svg .axis{stroke:#9aa3ab}svg .tick,svg .axis-label{fill:var(--muted)}
svg .line{fill:none;stroke-width:1.5}svg .guide{stroke:#222;stroke-dasharray:3 3}
svg .marker{stroke:#999;stroke-dasharray:4 3}svg .marker-label{fill:#666;font-size:10px}svg .xtick{stroke:#9aa3ab}
svg .bar-value{fill:var(--fg);font-size:10.5px}svg .group-label{fill:var(--fg);font-size:12px}
.panel{margin:6px 0 10px}
details.markers{margin:6px 0;font-size:12.5px}details.markers summary{cursor:pointer;color:var(--muted)}
#tip{position:fixed;z-index:10;pointer-events:none;max-width:460px;background:#1b1f24;color:#fff;padding:7px 9px;border-radius:4px;font-size:12px;line-height:1.4;box-shadow:0 2px 8px #0004}
#tip .t-range{font-family:ui-monospace,Menlo,Consolas,monospace}
#tip .t-ev{color:#ffd98a}
footer{margin-top:32px;padding-top:8px;border-top:1px solid var(--rule);color:var(--muted);font-size:12px}
`
