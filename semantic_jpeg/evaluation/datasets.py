"""Labelled image datasets through TFDS: a named dataset, or local folders (ImageFolder layout).

The evaluation and the training tool take their data from here, so both accept the same
`--tfds NAME` / `--image_folder ROOT` inputs and report a missing split the same way.
"""

import tensorflow as tf
import tensorflow_datasets as tfds


def builder(
  *, tfds_name: str | None = None, image_folder: str | None = None, data_dir: str | None = None
) -> tfds.core.DatasetBuilder:
  """The builder of a TFDS dataset (prepared, downloading if it must) or of ROOT/SPLIT/CLASS/*.

  Raises:
    ValueError: not exactly one of `tfds_name` and `image_folder`.
  """
  if bool(tfds_name) == bool(image_folder):
    raise ValueError("set exactly one of --tfds and --image_folder")
  if image_folder:
    return tfds.folder_dataset.ImageFolder(image_folder)
  named = tfds.builder(tfds_name, data_dir=data_dir)
  named.download_and_prepare()
  return named


def split(dataset_builder: tfds.core.DatasetBuilder, name: str) -> tf.data.Dataset:
  """One split as a dataset of feature dicts.

  Raises:
    ValueError: the data has no such split (one line, naming the splits it has).
  """
  try:
    return dataset_builder.as_dataset(split=name)
  except (ValueError, KeyError) as e:
    raise ValueError(
      f"split {name!r}: {str(e).splitlines()[0]} (the data has {list(dataset_builder.info.splits)})"
    ) from None
