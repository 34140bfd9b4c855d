// HTML of the catalog site. Every value from YAML or the warehouse goes through esc().

export const esc = (s: unknown): string =>
  String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')

/** A page of the site; `root` is the relative path back to the site's root ('' or '../'). */
export function page(title: string, root: string, body: string, script = false): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · segment catalog</title>
<link rel="stylesheet" href="${root}assets/site.css">
</head>
<body>
<header><a href="${root}index.html" class="home">Segment catalog</a></header>
<main>
${body}
</main>
${script ? `<script src="${root}assets/site.js"></script>` : ''}
</body>
</html>
`
}

export const CSS = `
:root { --fg: #1d2430; --muted: #5b6575; --line: #d8dde5; --accent: #2856c4; --good: #2a8a4a; --bad: #c0392b; --warn: #9a6700; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #f7f8fa; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 10px 24px; }
header .home { font-weight: 600; color: var(--fg); text-decoration: none; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 24px; margin: 8px 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
a { color: var(--accent); }
.muted { color: var(--muted); }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0; }
.meta dt { color: var(--muted); }
.meta dd { margin: 0; }
.rule { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--accent); padding: 12px 16px; font-size: 16px; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; font-size: 13px; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.tag { display: inline-block; background: #e8edf7; color: #2b3a5c; border-radius: 10px; padding: 0 8px; margin: 0 4px 2px 0; font-size: 12px; }
.banner { background: #eef4ff; border: 1px solid #b6cdf5; border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
.flag.proposed { background: #e3ecff; color: #1d4ed8; }
.flag { display: inline-block; background: #fff4d6; color: var(--warn); border-radius: 10px; padding: 0 8px; margin: 0 4px 2px 0; font-size: 12px; }
.filters { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; align-items: center; }
.filters input[type=search] { flex: 1 1 260px; padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
.filters select { padding: 6px; border: 1px solid var(--line); border-radius: 6px; font: inherit; background: #fff; }
.count { color: var(--muted); font-size: 13px; }
.chart { width: 100%; max-width: 640px; height: auto; background: #fff; border: 1px solid var(--line); display: block; margin: 4px 0 12px; }
.chart .axis { stroke: #aab2bf; stroke-width: 1; }
.chart .series { fill: none; stroke: var(--accent); stroke-width: 2; }
.chart circle { fill: var(--accent); }
.chart .entered { fill: var(--good); }
.chart .exited { fill: var(--bad); }
.chart .tick { font-size: 11px; fill: var(--muted); }
.chart .diagonal { stroke: #aab2bf; stroke-dasharray: 4 3; }
.coefficients li { margin: 2px 0; }
details { background: #fff; border: 1px solid var(--line); padding: 8px 12px; }
details pre { overflow: auto; font-size: 12px; }
.bar { display: inline-block; height: 10px; background: var(--accent); vertical-align: middle; }
`

/** Search and filters of the index: rows carry their fields in data- attributes. */
export const JS = `
(function () {
  var q = document.getElementById('q');
  var selects = Array.prototype.slice.call(document.querySelectorAll('select[data-filter]'));
  var stale = document.getElementById('stale');
  var rows = Array.prototype.slice.call(document.querySelectorAll('#segments tbody tr'));
  var count = document.getElementById('count');
  function apply() {
    var text = q.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var ok = !text || row.getAttribute('data-search').indexOf(text) >= 0;
      selects.forEach(function (s) {
        if (!s.value) return;
        var values = (row.getAttribute('data-' + s.getAttribute('data-filter')) || '').split('|');
        if (values.indexOf(s.value) < 0) ok = false;
      });
      if (stale.checked && row.getAttribute('data-stale') !== 'yes') ok = false;
      row.hidden = !ok;
      if (ok) shown++;
    });
    count.textContent = shown + ' of ' + rows.length + ' segments';
  }
  q.addEventListener('input', apply);
  stale.addEventListener('change', apply);
  selects.forEach(function (s) { s.addEventListener('change', apply); });
  apply();
})();
`
