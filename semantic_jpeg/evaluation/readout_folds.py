"""The fixation readout trained fold by fold on a fixation data set, without peeking.

Folds are fixed (`fixations.folds`: images sorted by name, index mod k). The number of epochs is
always chosen by early stopping on images the readout is not trained on: for the final readout,
each fold in turn is held out; for a cross-validated one, an inner fold of its training folds.
"""

import pathlib

import numpy as np
import tqdm

from semantic_jpeg import image_io
from semantic_jpeg.evaluation import fixations as fixations_lib
from semantic_jpeg.saliency import readout as readout_lib
from semantic_jpeg.saliency import readout_training

Examples = dict[str, list[readout_training.Example]]


def load_examples(
  data: dict[str, fixations_lib.Fixations],
  image_dir: pathlib.Path,
  options: readout_training.TrainOptions,
) -> Examples:
  """Each image's training examples: its taps and fixation counts (and its mirror's)."""
  tapped = readout_training.imagenet_taps()
  made = {}
  for name, fix in tqdm.tqdm(data.items(), desc="backbone features", unit="image"):
    rgb = image_io.read_image(image_dir / name).rgb
    made[name] = readout_training.examples(tapped, rgb, fix.ys, fix.xs, options)
  return made


def _split(examples: Examples, names: set[str]) -> list[readout_training.Example]:
  return [e for name in sorted(names) for e in examples[name]]


def _unmirrored(examples: Examples, names: set[str]) -> list[readout_training.Example]:
  return [examples[name][0] for name in sorted(names)]


def chosen_epochs(
  examples: Examples,
  held_out_folds: list[int],
  fold_of: dict[str, int],
  options: readout_training.TrainOptions,
  excluded_fold: int | None = None,
) -> list[int]:
  """For each held-out fold, the best epoch when training on the other folds (but excluded)."""
  chosen = []
  for held_out in held_out_folds:
    train = {n for n, f in fold_of.items() if f not in (held_out, excluded_fold)}
    validation = {n for n, f in fold_of.items() if f == held_out}
    chosen.append(
      readout_training.best_epochs(
        _split(examples, train), _unmirrored(examples, validation), options
      )
    )
  return chosen


def final_readout(
  examples: Examples, fold_of: dict[str, int], options: readout_training.TrainOptions, log=None
) -> tuple[readout_lib.FixationReadout, list[int]]:
  """The readout on all images, for the mean of the epochs each held-out fold chose."""
  chosen = chosen_epochs(examples, sorted(set(fold_of.values())), fold_of, options)
  epochs = int(round(np.mean(chosen)))
  return readout_training.train(_split(examples, set(fold_of)), epochs, options, log), chosen


def fold_readout(
  examples: Examples,
  fold_of: dict[str, int],
  test_fold: int,
  options: readout_training.TrainOptions,
) -> tuple[readout_lib.FixationReadout, int]:
  """The readout for `test_fold`'s images: trained on the other folds, its epochs chosen by
  the next fold held out of those."""
  folds = sorted(set(fold_of.values()))
  inner = folds[(folds.index(test_fold) + 1) % len(folds)]
  [epochs] = chosen_epochs(examples, [inner], fold_of, options, excluded_fold=test_fold)
  train = {n for n, f in fold_of.items() if f != test_fold}
  return readout_training.train(_split(examples, train), epochs, options), epochs
