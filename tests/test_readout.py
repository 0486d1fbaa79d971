"""The fixation readout: the weights that ship, saving and loading, and training on fixations."""

import numpy as np
import pytest
import tensorflow as tf

from semantic_jpeg import errors
from semantic_jpeg.saliency import model as model_lib
from semantic_jpeg.saliency import readout
from semantic_jpeg.saliency import readout_training

from conftest import read_rgb

TINY = readout_training.TrainOptions(max_epochs=12, batch_size=4, flip=False)


def test_shipped_weights_are_small_and_say_how_they_were_trained():
  assert readout.DEFAULT_WEIGHTS.stat().st_size < 150_000
  with np.load(readout.DEFAULT_WEIGHTS) as stored:
    assert '"images": 250' in str(stored["meta"])
  layer = readout.load()
  assert 0.01 < float(layer.blur_sigma()) < readout.MAX_BLUR


def test_save_and_load_give_the_same_map(tmp_path):
  layer = readout.load()
  readout.save(layer, tmp_path / "copy.npz", {"note": "copied"})
  copy = readout.load(tmp_path / "copy.npz")
  taps = [tf.random.stateless_normal((1, 6, 9, c), (1, 2)) for _, _, c in readout.TAPS]
  np.testing.assert_array_equal(layer(taps).numpy(), copy(taps).numpy())


@pytest.mark.parametrize("content", [None, b"not an npz", b"PK\x03\x04 truncated zip"])
def test_missing_or_damaged_weights_are_weights_errors(tmp_path, content):
  path = tmp_path / "readout.npz"
  if content is not None:
    path.write_bytes(content)
  with pytest.raises(errors.WeightsError, match="readout"):
    readout.load(path)


def test_log_density_sums_to_one_and_the_map_peaks_at_one(model):
  result = model_lib.compute_map(model, read_rgb("kodim21.png"))
  assert np.exp(result.log_density.astype(np.float64)).sum() == pytest.approx(1.0, abs=1e-4)
  assert result.pixel_map.max() == pytest.approx(1.0)
  assert model.map_model == "fixations"


@pytest.fixture(scope="module")
def corner_examples():
  """Six crops whose fixations all lie in their top-left corner."""
  tapped = readout_training.imagenet_taps()
  rng = np.random.default_rng(0)
  made = []
  for name in ("kodim04", "kodim21", "kodim23"):
    rgb = read_rgb(f"{name}.png")
    for top in (0, 128):
      crop = np.ascontiguousarray(rgb[top : top + 256, :256])
      ys, xs = rng.uniform(0, 96, 40), rng.uniform(0, 96, 40)
      made.append(readout_training.examples(tapped, crop, ys, xs, TINY))
  return made


def test_training_learns_where_the_fixations_are_and_repeats(corner_examples):
  train = [e for made in corner_examples[:-1] for e in made]
  held_out = corner_examples[-1]
  trainer = readout_training.Trainer(TINY)
  before = trainer.mean_nll(held_out)
  history = trainer.fit(train, TINY.max_epochs, held_out)
  assert history[-1] < before - 0.3
  z = trainer.readout([tf.constant(t[None], tf.float32) for t in held_out[0].taps])
  density = np.exp(readout.log_softmax_cells(z)[0].numpy())  # 64x64 cells of 4 crop pixels.
  assert density[:24, :24].sum() > 2 * density[:24, 40:].sum()  # Top-left, not top-right.
  again = readout_training.train(train, TINY.max_epochs, TINY)
  for a, b in zip(trainer.readout.weights, again.weights, strict=True):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
