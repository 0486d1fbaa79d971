"""Exports the MS-ROI model as a SavedModel in the layout TF Serving watches: BASE/NAME/VERSION.

  python export/export_saved_model.py --export_base_dir /models --model_name semantic_jpeg --version 1

The version directory is written beside its final place and renamed into it, so a server that
watches BASE/NAME never loads a half-written version. See semantic_jpeg/serving.py for the
signatures and README.md for serving it.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
import pathlib
import shutil
import tempfile
import time

from absl import app
from absl import flags

from semantic_jpeg import saliency
from semantic_jpeg import serving

_BASE = flags.DEFINE_string("export_base_dir", None, "Folder TF Serving watches.", required=True)
_NAME = flags.DEFINE_string("model_name", "semantic_jpeg", "Model name (a sub-folder).")
_VERSION = flags.DEFINE_integer("version", 1, "Version number (a sub-folder).", lower_bound=1)
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing version.")
_TOP_K = flags.DEFINE_integer("top_k", saliency.SaliencyOptions.top_k,
                              "Classes whose activation maps make the map.", lower_bound=1,
                              upper_bound=1000)
_MAX_SIDE = flags.DEFINE_integer("max_side", saliency.SaliencyOptions.max_side,
                                 "Long side the model sees, at most.", lower_bound=32)
_FACES = flags.DEFINE_bool("faces", True, "Include the face prior.")
_FACE_WEIGHT = flags.DEFINE_float("face_weight", saliency.SaliencyOptions.face_weight,
                                  "Peak of the face prior.", lower_bound=0.0, upper_bound=1.0)
_WEIGHTS = flags.DEFINE_string("weights", None, "Map model weights from tools/train.py.")
_COMBINE = flags.DEFINE_enum("combine", "sum", saliency.COMBINE_MODES,
                             "How the top-k class maps are combined.")


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  model_dir = pathlib.Path(_BASE.value) / _NAME.value
  target = model_dir / str(_VERSION.value)
  if target.exists() and not _OVERWRITE.value:
    raise app.UsageError(f"{target} exists; pass --overwrite to replace it")
  model_dir.mkdir(parents=True, exist_ok=True)
  options = saliency.SaliencyOptions(top_k=_TOP_K.value, max_side=_MAX_SIDE.value,
                                     face_weight=_FACE_WEIGHT.value if _FACES.value else 0.0)
  start = time.perf_counter()
  model = saliency.load_model(faces=_FACES.value, combine=_COMBINE.value,
                              weights=_WEIGHTS.value)
  tmp = tempfile.mkdtemp(prefix=f".{_VERSION.value}.", dir=model_dir)
  try:
    serving.export(model, tmp, options)
    os.chmod(tmp, 0o755)  # mkdtemp makes 0700; the server may run as another user.
    if target.exists():
      shutil.rmtree(target)
    os.replace(tmp, target)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
  print(f"exported {target} ({size / 1e6:.1f} MB) in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
  app.run(main)
