"""Plots what `tools/tune.py` runs trade: the whole image against where people look.

  python tools/plot_tuning.py --run 'flatness 0=f0.json' --run 'flatness 1=f1.json' \
      --set scene_fixations --quality 50 --goal=-0.3,1.5 --output frontier.png

Each --run is LABEL=ROWS[,ROWS...]: the --output files of `tools/tune.py` runs of one setting
(any strengths). Per run and strength, the means over the set's photos at the quality of ours
minus mozjpeg at equal size: whole-image SSIMULACRA 2 and Butteraugli, and in the fixation
density's top quarter of blocks PSNR-HVS-M, SSIMULACRA 2 and Butteraugli (tune.py's
--fixations; Butteraugli only with its --butteraugli). Three panels, a run's points joined in
strength order (runs whose labels agree before a comma share a colour, the later ones dashed);
--goal X,Y shades x >= X, y >= Y in the first (whole SSIMULACRA 2 against PSNR-HVS-M where people
look). The means are printed as a Markdown table.
"""

import collections
import io
import json
import pathlib

from absl import app
from absl import flags
import matplotlib

matplotlib.use("Agg")
# pylint: disable=g-import-not-at-top,wrong-import-position
from matplotlib import pyplot as plt
import numpy as np

from semantic_jpeg import files

_RUNS = flags.DEFINE_multi_string("run", [], "LABEL=ROWS[,ROWS...] (tune.py --output files).")
_SET = flags.DEFINE_string("set", "scene_fixations", "Which set's rows to plot.")
_QUALITY = flags.DEFINE_integer("quality", 50, "Which target quality's rows to plot.")
_GOAL = flags.DEFINE_list("goal", [], "X,Y: shade whole SSIMULACRA 2 >= X, PSNR-HVS-M >= Y.")
_OUTPUT = flags.DEFINE_string("output", None, "The figure (PNG).", required=True)

# (key in tune.py's rows, column title); each is ours_KEY - mozjpeg_KEY.
_MEASURES = (
  ("ssimulacra2", "whole SSIMULACRA 2"),
  ("butteraugli", "whole Butteraugli"),
  ("fixated_psnr_hvsm", "PSNR-HVS-M there (dB)"),
  ("fixated_ssimulacra2", "SSIMULACRA 2 there"),
  ("fixated_butteraugli", "Butteraugli there"),
)
# Panels: (x key, y key).
_PANELS = (
  ("ssimulacra2", "fixated_psnr_hvsm"),
  ("ssimulacra2", "fixated_ssimulacra2"),
  ("butteraugli", "fixated_butteraugli"),
)

Point = dict[str, float]  # Measure key (and "strength", "images", "within") -> mean.


def _load(spec: str) -> tuple[str, list[dict]]:
  label, sep, paths = spec.partition("=")
  if not sep or not label or not paths:
    raise app.UsageError(f"--run must be LABEL=ROWS[,ROWS...], not {spec!r}")
  rows = []
  for path in paths.split(","):
    try:
      rows += json.loads(pathlib.Path(path).read_text())
    except (OSError, ValueError) as e:
      raise app.UsageError(f"cannot read tune.py rows from {path}: {e}") from None
  return label, rows


def _points(rows: list[dict], label: str) -> list[Point]:
  """Mean differences to mozjpeg per strength, for the chosen set and quality."""
  groups = collections.defaultdict(list)
  for row in rows:
    if row["set"] == _SET.value and row["quality"] == _QUALITY.value:
      groups[row["strength"]].append(row)
  if not groups:
    raise app.UsageError(f"{label}: no rows of set {_SET.value!r} at quality {_QUALITY.value}")
  points = []
  for strength, group in sorted(groups.items()):
    point = {"strength": strength, "images": len(group)}
    for key, _ in _MEASURES:
      deltas = [row.get(f"ours_{key}", np.nan) - row.get(f"mozjpeg_{key}", np.nan) for row in group]
      point[key] = float(np.mean(deltas))
    if np.isnan(point["fixated_psnr_hvsm"]):
      raise app.UsageError(f"{label}: rows without where people look (tune.py --fixations)")
    point["within"] = float(
      np.mean([row["ours_ssimulacra2"] - row["mozjpeg_ssimulacra2"] >= -1.0 for row in group])
    )
    points.append(point)
  return points


def _cell(key: str, value: float) -> str:
  if np.isnan(value):
    return ""
  return f"{value:+.3f}" if "butteraugli" in key else f"{value:+.2f}"


def _table(runs: dict[str, list[Point]]) -> str:
  titles = [title for _, title in _MEASURES]
  lines = [
    "| run | strength | images | " + " | ".join(titles) + " | within 1.0 |",
    "|---|---|---|" + "---|" * (len(titles) + 1),
  ]
  for label, points in runs.items():
    for p in points:
      cells = [_cell(key, p[key]) for key, _ in _MEASURES]
      lines.append(
        f"| {label} | {p['strength']:g} | {p['images']} | "
        + " | ".join(cells)
        + f" | {p['within']:.0%} |"
      )
  return "\n".join(lines)


def _plot(runs: dict[str, list[Point]], path: pathlib.Path) -> None:
  titles = dict(_MEASURES)
  fig, axes = plt.subplots(1, len(_PANELS), figsize=(5.2 * len(_PANELS), 4.6))
  families = list(dict.fromkeys(label.split(",")[0] for label in runs))
  for axis, (x_key, y_key) in zip(axes, _PANELS, strict=True):
    seen = set()
    for label, points in runs.items():
      family = label.split(",")[0]
      style = "o--" if family in seen else "o-"
      seen.add(family)
      xs, ys = [p[x_key] for p in points], [p[y_key] for p in points]
      (line,) = axis.plot(xs, ys, style, color=f"C{families.index(family)}", label=label)
      for p, x, y in zip(points, xs, ys, strict=True):
        axis.annotate(
          f"{p['strength']:g}",
          (x, y),
          textcoords="offset points",
          xytext=(4, 4),
          fontsize=7,
          color=line.get_color(),
        )
    if all(np.isnan(p[x_key] + p[y_key]) for points in runs.values() for p in points):
      axis.text(0.5, 0.5, "not measured", ha="center", transform=axis.transAxes)
    axis.axhline(0.0, color="grey", lw=0.6)
    axis.axvline(0.0, color="grey", lw=0.6)
    axis.set_xlabel(f"{titles[x_key]} − mozjpeg")
    axis.set_ylabel(f"{titles[y_key]} − mozjpeg")
    axis.grid(alpha=0.3)
  if _GOAL.value:
    x_goal, y_goal = (float(v) for v in _GOAL.value)
    x_max = max(axes[0].get_xlim()[1], x_goal + 0.5)
    y_max = max(axes[0].get_ylim()[1], y_goal + 0.5)
    axes[0].fill_between([x_goal, x_max], y_goal, y_max, color="green", alpha=0.12, label="goal")
    axes[0].set_xlim(right=x_max)
    axes[0].set_ylim(top=y_max)
  axes[0].legend(fontsize=7)
  fig.suptitle(
    f"{_SET.value}, Q{_QUALITY.value} size, minus mozjpeg at equal size; "
    "numbers are saliency strengths (Butteraugli: lower is better)",
    fontsize=9,
  )
  fig.tight_layout()
  buffer = io.BytesIO()
  fig.savefig(buffer, format="png", dpi=110)
  plt.close(fig)
  files.write_atomic(path, buffer.getvalue())


def main(argv: list[str]) -> None:
  del argv
  if not _RUNS.value:
    raise app.UsageError("give at least one --run LABEL=ROWS")
  if _GOAL.value and len(_GOAL.value) != 2:
    raise app.UsageError("--goal is X,Y")
  runs = {}
  for spec in _RUNS.value:
    label, rows = _load(spec)
    runs[label] = _points(rows, label)
  _plot(runs, pathlib.Path(_OUTPUT.value))
  print(_table(runs))


if __name__ == "__main__":
  app.run(main)
