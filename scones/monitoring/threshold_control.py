"""The report's threshold control: a slider over the threshold curve, in plain inline HTML and script.

It works from ``file://`` with no network (no CDN, no library): the curve's
points are embedded as JSON and a few lines of script show the point nearest
the slider. Nothing here changes the deployed workflow.
"""

from __future__ import annotations

import json
from html import escape

from scones.monitoring.summary import MonitorSummary

_SCRIPT = """
(function () {
  const curve = JSON.parse(document.getElementById("threshold-curve").textContent);
  const slider = document.getElementById("threshold");
  const percent = (share) => share === null ? "–" : (100 * share).toFixed(1) + "%";
  function show() {
    const wanted = Number(slider.value);
    const point = curve.reduce((best, p) =>
      Math.abs(p.threshold - wanted) < Math.abs(best.threshold - wanted) ? p : best);
    document.getElementById("threshold-value").textContent = point.threshold.toFixed(2);
    document.getElementById("share-passed").textContent = percent(point.share_passed) + " (" + point.passed + ")";
    for (const cell of document.querySelectorAll("[data-class]")) {
      cell.textContent = percent(point.per_class_share_passed[cell.dataset.class]);
    }
    const accuracy = document.getElementById("accuracy-passed");
    if (accuracy) {
      accuracy.textContent = percent(point.accuracy_among_passed) + " of " + point.labelled_passed;
      document.getElementById("wrong-passed").textContent = String(point.wrong_passed);
    }
  }
  slider.addEventListener("input", show);
  show();
})();
"""


def threshold_control_html(summary: MonitorSummary) -> str:
    """The "Threshold tuning" section, or a sentence when there is nothing to tune on."""
    curve = summary.threshold_curve
    if not curve or curve[0].share_passed is None:
        return ""
    low, high = curve[0].threshold, curve[-1].threshold
    start = min(max(summary.threshold, low), high)
    classes = "".join(f'<tr><th>passing, predicted {escape(name)}</th><td class=n data-class="{escape(name)}">'
                      f"</td></tr>" for name in summary.class_names)
    labelled = curve[0].labelled
    truth = ("<tr><th>accuracy among those passing</th><td class=n id=accuracy-passed></td></tr>"
             "<tr><th>wrong answers passing</th><td class=n id=wrong-passed></td></tr>") if labelled else ""
    note = (f"Accuracy counts the {labelled:,} inferences whose true class is known (the test images of "
            "<code>scones run</code>)." if labelled else
            "The true classes are not known here, so accuracy is not shown.")
    data = json.dumps([point.to_json() for point in curve]).replace("</", "<\\/")
    return f"""<h2>Threshold tuning</h2>
<p>What a threshold would have let through, from these {summary.counts.valid:,} captured inferences (nothing here
changes the deployed workflow). {note}</p>
<p><label for=threshold>threshold <output id=threshold-value>{start:.2f}</output></label>
<input type=range id=threshold style="width: 24rem; vertical-align: middle" min="{low:.2f}" max="{high:.2f}" step="0.01" value="{start:.2f}"></p>
<table id=threshold-table><tr><th>passing</th><td class=n id=share-passed></td></tr>{classes}{truth}</table>
<script type="application/json" id="threshold-curve">{data}</script>
<script>{_SCRIPT}</script>
"""
