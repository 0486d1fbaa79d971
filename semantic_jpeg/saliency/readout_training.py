"""Training the fixation readout on human eye fixations: seeded, on the frozen backbone's features.

The backbone's TAPS are computed once per image (and its mirror image, with mirrored fixations,
when `flip` is on) and kept as float16; each epoch then costs only the small readout. The loss
is the negative log-likelihood of the fixations under the softmax over the stride-8 cells of
the working image, per fixation and averaged over images, plus an L2 penalty on the tap
kernels and a smoothness penalty on the centre grid. Adam, early stopping by the likelihood of
held-out images, and `tf.config.experimental.enable_op_determinism` make runs repeatable.
"""

import collections
from collections.abc import Callable
from collections.abc import Iterable
import dataclasses

import keras
import numpy as np
import tensorflow as tf

from semantic_jpeg.saliency import backbone
from semantic_jpeg.saliency import readout as readout_lib
from semantic_jpeg.saliency import weights


@dataclasses.dataclass(frozen=True)
class TrainOptions:
  """How to train (the defaults were chosen by inner validation, see results/saliency)."""

  work_side: int = 512
  hidden: int = 8
  centre_grid: int = 9
  dropout: float = 0.5
  l2: float = 1e-3  # On the tap kernels' squares.
  centre_smoothness: float = 1e-2  # On squared differences of neighbouring centre values.
  learning_rate: float = 1e-3
  batch_size: int = 8
  max_epochs: int = 30
  flip: bool = True  # Mirror images (and their fixations) as more training data.
  seed: int = 0


@dataclasses.dataclass(frozen=True)
class Example:
  """One working image: its taps (float16), and its fixations counted per stride-8 cell."""

  taps: tuple[np.ndarray, ...]
  counts: np.ndarray

  @property
  def grid(self) -> tuple[int, int]:
    return self.counts.shape


def imagenet_taps() -> keras.Model:
  """EfficientNet-Lite0 with ImageNet weights, giving the readout's taps and the logits."""
  classifier = backbone.efficientnet_lite0()
  weights.load_imagenet_lite0(classifier)
  return backbone.tapped(classifier, [name for name, _, _ in readout_lib.TAPS])


def examples(
  tapped: keras.Model, rgb: np.ndarray, ys: np.ndarray, xs: np.ndarray, options: TrainOptions
) -> list[Example]:
  """An image and its fixations (pixels of `rgb`), and its mirror image when `flip` is on."""
  work, size = readout_lib.working_image(tf.constant(rgb[None]), options.work_side)
  height, width = rgb.shape[:2]
  rows = ys * int(size[0]) / height
  cols = xs * int(size[1]) / width
  batch = tf.concat([work, work[:, :, ::-1]], 0) if options.flip else work
  taps = [np.asarray(t, np.float16) for t in tapped(batch, training=False)[:-1]]
  made = [Example(tuple(t[0] for t in taps), _cell_counts(rows, cols, taps[0].shape[1:3]))]
  if options.flip:
    mirrored = int(size[1]) - cols
    made.append(
      Example(tuple(t[1] for t in taps), _cell_counts(rows, mirrored, taps[0].shape[1:3]))
    )
  return made


def _cell_counts(rows: np.ndarray, cols: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
  """Fixations per stride-8 cell of the working image."""
  counts = np.zeros(grid, np.float32)
  cells = (
    np.clip((rows // readout_lib.GRID_STRIDE).astype(int), 0, grid[0] - 1),
    np.clip((cols // readout_lib.GRID_STRIDE).astype(int), 0, grid[1] - 1),
  )
  np.add.at(counts, cells, 1.0)
  return counts


class Trainer:
  """A fresh readout and its optimizer; `fit` trains it, `mean_nll` scores held-out images."""

  def __init__(self, options: TrainOptions):
    keras.utils.set_random_seed(options.seed)
    tf.config.experimental.enable_op_determinism()
    self.options = options
    self.readout = readout_lib.FixationReadout(
      work_side=options.work_side,
      hidden=options.hidden,
      centre_grid=options.centre_grid,
      dropout=options.dropout,
      name="fixation_readout",
    )
    self.readout([tf.zeros((1, 1, 1, channels)) for _, _, channels in readout_lib.TAPS])
    self._optimizer = keras.optimizers.Adam(options.learning_rate)
    spec = [
      tuple(tf.TensorSpec([None, None, None, c], tf.float16) for _, _, c in readout_lib.TAPS),
      tf.TensorSpec([None, None, None], tf.float32),
    ]
    self._step = tf.function(self._train_step, input_signature=spec)
    self._nll = tf.function(self._held_out_nll, input_signature=spec)

  def _held_out_nll(self, taps, counts) -> tf.Tensor:
    return _image_nll(self.readout, taps, counts, training=False)

  def _penalty(self) -> tf.Tensor:
    centre = self.readout.centre
    smoothness = tf.reduce_sum(tf.square(centre[1:] - centre[:-1])) + tf.reduce_sum(
      tf.square(centre[:, 1:] - centre[:, :-1])
    )
    l2 = tf.add_n([tf.reduce_sum(tf.square(k)) for k in self.readout.tap_kernels])
    return self.options.l2 * l2 + self.options.centre_smoothness * smoothness

  def _train_step(self, taps, counts) -> tf.Tensor:
    variables = self.readout.trainable_variables
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(_image_nll(self.readout, taps, counts, training=True))
      total = loss + self._penalty()
    self._optimizer.apply_gradients(zip(tape.gradient(total, variables), variables, strict=True))
    return loss

  def fit(
    self,
    train: list[Example],
    epochs: int,
    validation: list[Example] | None = None,
    log: Callable[[str], None] | None = None,
  ) -> list[float]:
    """Trains `epochs` epochs; returns the validation NLL after each (empty without)."""
    rng = np.random.default_rng(self.options.seed)
    history = []
    for epoch in range(epochs):
      losses = [
        float(self._step(*batch)) for batch in _batches(train, self.options.batch_size, rng)
      ]
      if validation:
        history.append(self.mean_nll(validation))
      if log:
        held_out = f", held out {history[-1]:.4f}" if history else ""
        log(f"epoch {epoch + 1}: {np.mean(losses):.4f} nats per fixation{held_out}")
    return history

  def mean_nll(self, held_out: list[Example]) -> float:
    """Mean over images of the negative log-likelihood per fixation."""
    values = [self._nll(*batch) for batch in _batches(held_out, self.options.batch_size)]
    return float(np.mean(np.concatenate([v.numpy() for v in values])))


def _image_nll(readout, taps, counts, training: bool) -> tf.Tensor:
  """Negative log-likelihood per fixation of each image [N]."""
  log_p = readout_lib.log_softmax_cells(readout(list(taps), training=training))
  return -tf.reduce_sum(counts * log_p, axis=[1, 2]) / tf.reduce_sum(counts, axis=[1, 2])


def _batches(
  items: list[Example], size: int, rng: np.random.Generator | None = None
) -> Iterable[tuple[tuple[tf.Tensor, ...], tf.Tensor]]:
  """Batches of examples of one grid size, shuffled when `rng` is given."""
  by_grid = collections.defaultdict(list)
  for item in items:
    by_grid[item.grid].append(item)
  groups = []
  for grid in sorted(by_grid):
    group = by_grid[grid]
    order = rng.permutation(len(group)) if rng is not None else np.arange(len(group))
    groups += [
      [group[i] for i in order[start : start + size]] for start in range(0, len(group), size)
    ]
  for index in rng.permutation(len(groups)) if rng is not None else range(len(groups)):
    batch = groups[index]
    taps = tuple(
      tf.constant(np.stack([item.taps[t] for item in batch])) for t in range(len(readout_lib.TAPS))
    )
    yield taps, tf.constant(np.stack([item.counts for item in batch]))


def best_epochs(train: list[Example], validation: list[Example], options: TrainOptions) -> int:
  """The number of epochs after which the held-out likelihood was best (early stopping)."""
  history = Trainer(options).fit(train, options.max_epochs, validation)
  return int(np.argmin(history)) + 1


def train(
  examples_: list[Example], epochs: int, options: TrainOptions, log=None
) -> readout_lib.FixationReadout:
  """A readout trained on all `examples_` for `epochs` epochs."""
  trainer = Trainer(options)
  trainer.fit(examples_, epochs, log=log)
  return trainer.readout
