"""Trains the fixation readout on human eye fixations and writes its weights (seeded, repeatable).

  python tools/train_readout.py --fixations ../shared/datasets/scene_fixations/fixations.csv \
      --output semantic_jpeg/saliency/data/fixation_readout.npz

The CSV has rows `image, viewer, y, x, ...` (pixels of each image), the images beside it in
`images/`. The number of epochs is chosen by early stopping: in each of 5 folds, the readout is
trained on the other folds and the epoch with the best likelihood of the held-out fold is noted;
the final readout is trained on all images for the mean of those epochs. About 10 minutes on two
CPU cores; the same command gives the same weights.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
import dataclasses
import pathlib
import time

from absl import app
from absl import flags
import numpy as np

from semantic_jpeg.evaluation import fixations as fixations_lib
from semantic_jpeg.evaluation import readout_folds
from semantic_jpeg.saliency import readout
from semantic_jpeg.saliency import readout_training

_FIXATIONS = flags.DEFINE_string(
  "fixations", None, "Fixations CSV (images/ beside it).", required=True
)
_OUTPUT = flags.DEFINE_string("output", None, "Weights file to write (.npz).", required=True)
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the initial weights, dropout and shuffling.")
_FOLDS = flags.DEFINE_integer("folds", 5, "Folds for choosing the number of epochs.", lower_bound=2)


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  start = time.perf_counter()
  csv_path = pathlib.Path(_FIXATIONS.value)
  data = fixations_lib.load_fixations(str(csv_path))
  options = readout_training.TrainOptions(seed=_SEED.value)
  examples = readout_folds.load_examples(data, csv_path.parent / "images", options)
  fold_of = fixations_lib.folds(data, _FOLDS.value)
  layer, chosen = readout_folds.final_readout(examples, fold_of, options, log=print)
  epochs = int(round(np.mean(chosen)))
  training = {
    "fixations": csv_path.name,
    "images": len(data),
    "fixation_count": int(sum(len(f) for f in data.values())),
    "epochs": epochs,
    "epochs_by_fold": chosen,
    "options": dataclasses.asdict(options),
  }
  readout.save(layer, _OUTPUT.value, training)
  size = pathlib.Path(_OUTPUT.value).stat().st_size
  print(
    f"{_OUTPUT.value}: {size} bytes, {epochs} epochs on {len(data)} images, "
    f"{time.perf_counter() - start:.0f} s"
  )


if __name__ == "__main__":
  app.run(main)
