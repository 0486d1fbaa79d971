"""The default against its own control and the peers, from `tools/tune.py`'s rows.

A row is one photo, path ('pixels' or 'coefficients'), target quality and saliency strength, with
scores `ours_KEY` and the rate-matched peers' `mozjpeg_KEY` and `jpegli_KEY`; strength 0 is the
control. Keys: `ssimulacra2`, `butteraugli` (3-norm), and where people look (the fixation density's
top quarter of blocks) `fixated_ssimulacra2`, `gaze_butteraugli` (the distance map's 3-norm weighted
by the density) and `fixated_psnr_hvsm`; for sets without fixations the same in the map's top
quarter (`MAPPED`). `tools/tune.py` prints these means and
`tools/plot_tuning.py` plots them, so both show the same figures.
"""

import numpy as np

# "There": (SSIMULACRA 2, weighted Butteraugli, PSNR-HVS-M) where people look, or, for sets
# without fixations, in the map's top quarter (Butteraugli weighted by the map).
FIXATED = ("fixated_ssimulacra2", "gaze_butteraugli", "fixated_psnr_hvsm")
MAPPED = ("salient_ssimulacra2", "map_butteraugli", "salient_psnr_hvsm")


def with_controls(rows: list[dict]) -> list[dict]:
  """The rows of strengths above 0, each with its control's scores as `control_KEY`."""
  controls = {
    (r["set"], r["image"], r["path"], r["quality"]): r for r in rows if r["strength"] == 0
  }
  paired = []
  for row in rows:
    control = controls.get((row["set"], row["image"], row["path"], row["quality"]))
    if row["strength"] > 0 and control is not None:
      extra = {f"control_{k[5:]}": v for k, v in control.items() if k.startswith("ours_")}
      paired.append({**row, **extra})
  return paired


def summary(group: list[dict]) -> dict[str, float]:
  """Means over a group of `with_controls` rows (NaN where a score is missing)."""

  def values(who: str, key: str) -> np.ndarray:
    return np.array([row.get(f"{who}_{key}", np.nan) for row in group], np.float64)

  whole = values("ours", "ssimulacra2") - values("mozjpeg", "ssimulacra2")
  fixated = any(f"ours_{FIXATED[0]}" in row for row in group)
  there, gaze, hvsm = FIXATED if fixated else MAPPED
  return {
    "there_minus_control": np.mean(values("ours", there) - values("control", there)),
    "gaze_ratio": np.mean(values("ours", gaze)) / np.mean(values("control", gaze)),
    "there_minus_mozjpeg": np.mean(values("ours", there) - values("mozjpeg", there)),
    "there_minus_jpegli": np.mean(values("ours", there) - values("jpegli", there)),
    "whole_minus_mozjpeg": np.mean(whole),
    "whole_within_2": np.mean(whole >= -2.0),
    "butteraugli_minus_mozjpeg": np.mean(
      values("ours", "butteraugli") - values("mozjpeg", "butteraugli")
    ),
    "hvsm_there_minus_mozjpeg": np.mean(values("ours", hvsm) - values("mozjpeg", hvsm)),
    "control_whole_minus_mozjpeg": np.mean(
      values("control", "ssimulacra2") - values("mozjpeg", "ssimulacra2")
    ),
  }


# The columns of the tables both tools print: (summary key, title, format).
COLUMNS = (
  ("there_minus_control", "SS2 there − control", "{:+.2f}"),
  ("gaze_ratio", "gaze BA / control", "{:.3f}"),
  ("there_minus_mozjpeg", "SS2 there − mozjpeg", "{:+.2f}"),
  ("there_minus_jpegli", "SS2 there − jpegli", "{:+.2f}"),
  ("whole_minus_mozjpeg", "whole SS2 − mozjpeg", "{:+.2f}"),
  ("whole_within_2", "≥ −2.0", "{:.0%}"),
  ("butteraugli_minus_mozjpeg", "whole BA − mozjpeg", "{:+.3f}"),
  ("hvsm_there_minus_mozjpeg", "PSNR-HVS-M there − mozjpeg, dB", "{:+.2f} dB"),
  ("control_whole_minus_mozjpeg", "control: whole SS2 − mozjpeg", "{:+.2f}"),
)


def cells(means: dict[str, float]) -> list[str]:
  """A `summary`'s means as `COLUMNS`' cells ('' where not measured)."""
  return ["" if np.isnan(means[key]) else form.format(means[key]) for key, _, form in COLUMNS]
