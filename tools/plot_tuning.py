"""Plots what `tools/tune.py` runs trade: where people look against the whole image.

  python tools/plot_tuning.py --run 'cap 2=cap2.json' --run 'cap 4=cap4.json' \
      --set scene_fixations --path pixels --quality 30 --output frontier.png

Each --run is LABEL=ROWS[,ROWS...]: the --output files of `tools/tune.py` runs of one setting
(any strengths, each with its strength-0 control). Per run and strength above 0, the means over
the set's photos on the path at the quality (`evaluation.frontier.summary`), in three panels:
SSIMULACRA 2 where people look minus the control against whole-image SSIMULACRA 2 minus mozjpeg,
gaze-weighted Butteraugli over the control's against whole-image Butteraugli minus mozjpeg, and
PSNR-HVS-M where people look minus mozjpeg (the paper's metric, for comparison) against whole-image
SSIMULACRA 2 minus mozjpeg. A run's points are joined in strength order (runs whose labels agree
before a comma share a colour, the later ones dashed); the issue's goals are shaded (there +3.0
over the control with the whole image at or above mozjpeg; gaze-weighted Butteraugli at most 0.85
of the control's with whole-image Butteraugli at or below mozjpeg's). The means are printed as a
Markdown table.
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
from semantic_jpeg.evaluation import frontier

_RUNS = flags.DEFINE_multi_string("run", [], "LABEL=ROWS[,ROWS...] (tune.py --output files).")
_SET = flags.DEFINE_string("set", "scene_fixations", "Which set's rows to plot.")
_PATH = flags.DEFINE_enum("path", "pixels", ("pixels", "coefficients"), "Which path's rows.")
_QUALITY = flags.DEFINE_integer("quality", 50, "Which target quality's rows to plot.")
_OUTPUT = flags.DEFINE_string("output", None, "The figure (PNG).", required=True)

# Panels: (x key, y key, goal region (x0, x1, y0, y1) in data units, None for open ends).
_PANELS = (
  ("whole_minus_mozjpeg", "there_minus_control", (0.0, None, 3.0, None)),
  ("butteraugli_minus_mozjpeg", "gaze_ratio", (None, 0.0, None, 0.85)),
  ("whole_minus_mozjpeg", "hvsm_there_minus_mozjpeg", None),
)

Point = dict[str, float]  # Measure key (and "strength", "images") -> mean.


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
  """`frontier.summary` per strength for the chosen set, path and quality."""
  groups = collections.defaultdict(list)
  for row in frontier.with_controls(rows):
    if (row["set"], row["path"], row["quality"]) == (_SET.value, _PATH.value, _QUALITY.value):
      groups[row["strength"]].append(row)
  if not groups:
    raise app.UsageError(
      f"{label}: no rows with a control of set {_SET.value!r}, path {_PATH.value!r} at quality "
      f"{_QUALITY.value}"
    )
  points = []
  for strength, group in sorted(groups.items()):
    point = {"strength": strength, "images": len(group), **frontier.summary(group)}
    if np.isnan(point["there_minus_control"]):
      raise app.UsageError(f"{label}: rows without where people look (tune.py --fixations)")
    points.append(point)
  return points


def _table(runs: dict[str, list[Point]]) -> str:
  titles = [title for _, title, _ in frontier.COLUMNS]
  lines = [
    "| run | strength | images | " + " | ".join(titles) + " |",
    "|---|---|---|" + "---|" * len(titles),
  ]
  for label, points in runs.items():
    for p in points:
      cells = " | ".join(frontier.cells(p))
      lines.append(f"| {label} | {p['strength']:g} | {p['images']} | {cells} |")
  return "\n".join(lines)


def _plot(runs: dict[str, list[Point]], path: pathlib.Path) -> None:
  titles = {key: title for key, title, _ in frontier.COLUMNS}
  fig, axes = plt.subplots(1, len(_PANELS), figsize=(5.2 * len(_PANELS), 4.6))
  families = list(dict.fromkeys(label.split(",")[0] for label in runs))
  for axis, (x_key, y_key, goal) in zip(axes, _PANELS, strict=True):
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
    elif goal is not None:
      _shade(axis, goal)
    axis.axvline(0.0, color="grey", lw=0.6)
    axis.set_xlabel(titles[x_key])
    axis.set_ylabel(titles[y_key])
    axis.grid(alpha=0.3)
  axes[0].legend(fontsize=7)
  fig.suptitle(
    f"{_SET.value}, {_PATH.value} path, Q{_QUALITY.value} size, all at equal size; numbers are "
    "saliency strengths; green: the goal (Butteraugli: lower is better)",
    fontsize=9,
  )
  fig.tight_layout()
  buffer = io.BytesIO()
  fig.savefig(buffer, format="png", dpi=110)
  plt.close(fig)
  files.write_atomic(path, buffer.getvalue())


def _shade(axis, goal: tuple[float | None, ...]) -> None:
  """Shades the goal region, widening the axes to show some of it."""
  (x0, x1), (y0, y1) = axis.get_xlim(), axis.get_ylim()
  gx0, gx1, gy0, gy1 = goal
  x_lo = min(x0, gx1 - 0.5 * abs(gx1) - 0.05) if gx1 is not None else gx0
  x_hi = max(x1, gx0 + 0.5 * abs(gx0) + 0.5) if gx0 is not None else gx1
  y_lo = min(y0, gy1 - 0.05) if gy1 is not None else gy0
  y_hi = max(y1, gy0 + 0.5) if gy0 is not None else gy1
  axis.fill_between([x_lo, x_hi], y_lo, y_hi, color="green", alpha=0.12, label="goal")
  axis.set_xlim(min(x0, x_lo), max(x1, x_hi))
  axis.set_ylim(min(y0, y_lo), max(y1, y_hi))


def main(argv: list[str]) -> None:
  del argv
  if not _RUNS.value:
    raise app.UsageError("give at least one --run LABEL=ROWS")
  runs = {}
  for spec in _RUNS.value:
    label, rows = _load(spec)
    runs[label] = _points(rows, label)
  _plot(runs, pathlib.Path(_OUTPUT.value))
  print(_table(runs))


if __name__ == "__main__":
  app.run(main)
