"""The jinja2 template of the HTML report: one self-contained page (inline CSS and SVG, no scripts)."""

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="l2kit {{ version }}">
<title>{{ title }}</title>
<style>
:root { --ink:#1d232b; --muted:#5b6572; --line:#dde2e8; --bg:#f6f7f9; --card:#fff; --good:#1a7f37;
        --goodbg:#e9f6ec; --warn:#9a6700; --bad:#b42318; --accent:#1f5fa8; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", Arial, sans-serif; }
header { background:#14273d; color:#fff; padding:22px 0 18px; }
header .wrap { display:flex; justify-content:space-between; align-items:flex-end; gap:24px; flex-wrap:wrap; }
header h1 { margin:0; font-size:24px; font-weight:650; letter-spacing:.2px; }
header p { margin:4px 0 0; color:#c5d2e0; }
.wrap { max-width:1180px; margin:0 auto; padding:0 24px; }
main.wrap { padding-top:22px; padding-bottom:40px; }
section.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:18px 22px;
               margin:0 0 20px; box-shadow:0 1px 2px rgba(16,24,40,.04); }
h2 { font-size:18px; margin:0 0 10px; }
h3 { font-size:15px; margin:14px 0 6px; color:var(--muted); }
.rec { border-left:6px solid var(--good); background:var(--goodbg); }
.rec .verdict { font-size:21px; font-weight:650; margin:2px 0 4px; }
.rec .verdict code { font-size:18px; background:#fff; padding:2px 8px; border-radius:6px; border:1px solid #b7dfc2; }
.rec ol { margin:10px 0 0; padding-left:22px; }
.rec li { margin:4px 0; }
.pill { display:inline-block; border-radius:999px; padding:1px 10px; font-size:12.5px; font-weight:600;
        background:#e8eef6; color:var(--accent); margin-right:6px; }
.pill.bad { background:#fdecea; color:var(--bad); } .pill.ok { background:#e9f6ec; color:var(--good); }
table { border-collapse:collapse; width:100%; font-size:13.5px; }
th, td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:right; white-space:nowrap; }
th { background:#f0f3f6; font-weight:600; color:#333; position:sticky; top:0; }
th:first-child, td:first-child { text-align:left; }
td.num, .num { font-variant-numeric: tabular-nums; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size:12.5px; }
td .se { color:var(--muted); display:block; font-size:11.5px; }
tr.sep td { border-top:2px solid #c9d1da; }
th.recommended, td.recommended { background:#eef8f0; }
.scroll { overflow-x:auto; }
.tests td:nth-child(2), .tests td:nth-child(3) { text-align:right; }
.tests td:last-child, .tests th:last-child { text-align:left; white-space:normal; }
.tests td:last-child { color:var(--muted); }
.grid { display:grid; grid-template-columns: 1fr 1fr; gap:18px; }
figure { margin:0; background:var(--card); border:1px solid var(--line); border-radius:10px; padding:12px 14px 8px; }
figure.wide { grid-column: 1 / -1; }
figure svg.plot { width:100%; height:auto; display:block; min-height:220px; }
figcaption { color:var(--muted); font-size:13px; margin-top:6px; }
.muted { color:var(--muted); } .bad { color:var(--bad); }
footer { color:var(--muted); font-size:12.5px; text-align:center; padding:10px 0 30px; }
@media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header><div class="wrap">
  <div><h1>{{ title }}</h1>
  <p>{{ n }} rows &middot; {{ p }} feature{{ "" if p == 1 else "s" }} &middot; target <b>{{ target }}</b>{% if is_count %} (counts){% endif %} &middot; {{ folds }}-fold cross-validation</p></div>
  <div><p>Does the data tell the Gaussian story that squared error assumes?</p></div>
</div></header>
<main class="wrap">

<section class="card rec" id="recommendation">
  <h2>Recommendation</h2>
  <div class="verdict">{{ rec_label }} <code>{{ rec_repr }}</code></div>
  <div>{% for pill in pills %}<span class="pill {{ pill[1] }}">{{ pill[0] }}</span>{% endfor %}</div>
  <ol>{% for r in verdict %}<li>{{ r }}</li>{% endfor %}</ol>
  <h3>What to do next</h3>
  <ul>{% for r in next_steps %}<li>{{ r }}</li>{% endfor %}</ul>
  <p class="muted" style="margin:12px 0 0">Fit it with <code>l2kit.fit(X, y, loss={{ rec_repr }}{% for k, v in rec_options %}, {{ k }}={{ v }}{% endfor %})</code>{% if outliers %}; outliers ({{ "rows counted from 1" if row_key == "row" else "row labels" }}): {{ outliers }}{% endif %}.</p>
</section>

<section class="card" id="checks">
  <h2>Checks (level {{ level }}; Holm within the loss checks and within the model checks)</h2>
  <div class="scroll"><table class="tests">
    <thead><tr><th>check</th><th>statistic</th><th>p-value</th><th>Holm p</th><th>verdict</th><th>reason</th></tr></thead>
    <tbody>{% for c in checks %}<tr><td>{{ c[0] }}</td><td class="num">{{ c[1] }}</td><td class="num">{{ c[2] }}</td><td class="num">{{ c[3] }}</td><td class="{{ 'bad' if c[4] == 'reject' else '' }}">{{ c[4] }}</td><td>{{ c[5] }}</td></tr>
    {% endfor %}</tbody>
  </table></div>
  <details><summary>Every reason</summary><ol>{% for r in reasons %}<li>{{ r }}</li>{% endfor %}</ol></details>
</section>

<section class="card" id="comparison">
  <h2>Coefficients under each loss</h2>
  <p class="muted" style="margin-top:0">Estimate with its standard error in parentheses; the recommended loss is shaded.</p>
  <div class="scroll"><table>
    <thead><tr><th>term</th>{% for c in columns %}<th class="{{ 'recommended' if c.recommended else '' }}">{{ c.label }}</th>{% endfor %}</tr></thead>
    <tbody>
    {% for row in coef_rows %}<tr><td>{{ row.term }}</td>{% for cell in row.cells %}<td class="num {{ 'recommended' if columns[loop.index0].recommended else '' }}">{{ cell.est }}{% if cell.se %}<span class="se">({{ cell.se }})</span>{% endif %}</td>{% endfor %}</tr>
    {% endfor %}
    {% for row in stat_rows %}<tr class="{{ 'sep' if loop.first else '' }}"><td>{{ row.term }}</td>{% for cell in row.cells %}<td class="num {{ 'recommended' if columns[loop.index0].recommended else '' }}">{{ cell }}</td>{% endfor %}</tr>
    {% endfor %}
    </tbody>
  </table></div>
  {% if failures %}<h3>Candidates that could not be fitted</h3><ul>{% for f in failures %}<li class="bad">{{ f }}</li>{% endfor %}</ul>{% endif %}
</section>

<section class="card" id="tests">
  <h2>Tests of the Gaussian story</h2>
  <div class="scroll"><table class="tests">
    <thead><tr><th>test</th><th>statistic</th><th>p-value</th><th>reading</th></tr></thead>
    <tbody>{% for t in tests %}<tr><td>{{ t[0] }}</td><td class="num">{{ t[1] }}</td><td class="num">{{ t[2] }}</td><td>{{ t[3] }}</td></tr>
    {% endfor %}</tbody>
  </table></div>
  {% if influential %}<h3>Most influential observations (OLS)</h3>
  <div class="scroll"><table>
    <thead><tr><th>{{ "row (from 1)" if row_key == "row" else "row label" }}</th><th>y</th><th>OLS fitted</th><th>leverage</th><th>studentized residual</th><th>Cook's distance</th><th>outlier</th></tr></thead>
    <tbody>{% for r in influential %}<tr><td>{{ r[0] }}</td><td class="num">{{ r[1] }}</td><td class="num">{{ r[2] }}</td><td class="num">{{ r[3] }}</td><td class="num">{{ r[4] }}</td><td class="num">{{ r[5] }}</td><td>{{ r[6] }}</td></tr>
    {% endfor %}</tbody>
  </table></div>{% endif %}
</section>

<section id="plots">
  <div class="grid">
  {% for ident, caption, svg, wide in figures %}<figure id="fig-{{ ident }}" class="{{ 'wide' if wide else '' }}">{{ svg | safe }}<figcaption>{{ caption }}</figcaption></figure>
  {% endfor %}
  </div>
</section>

<section class="card" id="provenance">
  <h2>Provenance</h2>
  <div class="scroll"><table><tbody>{% for k, v in provenance %}<tr><td>{{ k }}</td><td><code>{{ v }}</code></td></tr>
  {% endfor %}</tbody></table></div>
</section>

</main>
<footer>Generated by l2kit {{ version }} &middot; self-contained: no scripts, no network requests &middot; rows are named by their label, or numbered from 1.</footer>
</body>
</html>
"""
