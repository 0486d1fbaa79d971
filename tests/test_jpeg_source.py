"""A JPEG's coefficients as stored, read once, checked against Pillow and the decoded pixels."""

import io

import numpy as np
from PIL import Image
import pytest

from semantic_jpeg import image_io
from semantic_jpeg import jpeg_source
from semantic_jpeg.codec import dct

import bad_inputs
from conftest import read_rgb

PHOTO = read_rgb("kodim21.png")[:123, :157]  # Sides that are no multiple of a block.


def _pillow_jpeg(image: Image.Image, **options) -> bytes:
  buffer = io.BytesIO()
  image.save(buffer, "JPEG", **options)
  return buffer.getvalue()


JPEGS = {
  "420": lambda: bad_inputs.jpeg_bytes(PHOTO, quality=80),
  "422": lambda: bad_inputs.jpeg_bytes(PHOTO, quality=80, subsampling=1),
  "444": lambda: bad_inputs.jpeg_bytes(PHOTO, quality=80, subsampling=0),
  "gray": lambda: bad_inputs.jpeg_bytes(PHOTO[..., 1], quality=80),
  "progressive": lambda: bad_inputs.jpeg_bytes(PHOTO, quality=80, progressive=True),
  "cmyk": lambda: _pillow_jpeg(Image.fromarray(PHOTO).convert("CMYK"), quality=80),
}


@pytest.mark.parametrize("name", sorted(JPEGS))
def test_layout_and_tables_are_the_files(name):
  data = JPEGS[name]()
  stored = jpeg_source.read(data)
  pillow = Image.open(io.BytesIO(data))
  assert (stored.height, stored.width) == PHOTO.shape[:2]
  # Pillow's layer: (id, horizontal, vertical, table) per component.
  assert stored.sampling == tuple((v, h) for _, h, v, _ in pillow.layer)
  for table, (_, _, _, number) in zip(stored.tables, pillow.layer):
    np.testing.assert_array_equal(table.ravel(), pillow.quantization[number])
  assert stored.progressive == (name == "progressive")
  assert stored.colour_space == {"gray": "gray", "cmyk": "cmyk"}.get(name, "ycbcr")
  v_max = max(v for v, _ in stored.sampling)
  h_max = max(h for _, h in stored.sampling)
  for levels, (v, h) in zip(stored.components, stored.sampling):
    assert levels.shape[:2] == (
      -(-PHOTO.shape[0] * v // (8 * v_max)),
      -(-PHOTO.shape[1] * h // (8 * h_max)),
    )


def test_dequantized_coefficients_are_what_the_decoder_inverts():
  data = JPEGS["gray"]()
  [coefficients] = jpeg_source.read(data).dequantized()
  plane = dct.inverse(coefficients)[: PHOTO.shape[0], : PHOTO.shape[1]]
  decoded = image_io.decode_image(data).rgb[..., 0]
  assert np.abs(np.clip(np.rint(plane), 0, 255) - decoded).max() <= 1


def test_what_is_no_jpeg_or_cut_short_gives_none_or_what_libjpeg_keeps():
  assert jpeg_source.read(b"not a jpeg at all" * 4) is None
  data = JPEGS["420"]()
  cut = jpeg_source.read(data[: len(data) // 2])  # libjpeg fills what is missing with zeros.
  assert cut is not None and not cut.components[0][-1].any()


def test_decoded_jpegs_carry_their_source_and_other_formats_none(tmp_path):
  data = JPEGS["420"]()
  image = image_io.decode_image(data)
  assert image.jpeg.data == data and image.jpeg.orientation == 1
  np.testing.assert_array_equal(
    image.jpeg.coefficients.components[0], jpeg_source.read(data).components[0]
  )
  png = tmp_path / "photo.png"
  png.write_bytes(image_io.encode_png(PHOTO))
  assert image_io.read_image(png).jpeg is None


def test_exif_orientation_is_recorded():
  exif = Image.Exif()
  exif[0x0112] = 6
  data = _pillow_jpeg(Image.fromarray(PHOTO), exif=exif)
  image = image_io.decode_image(data)
  assert image.jpeg.orientation == 6 and image.rgb.shape[:2] == PHOTO.shape[1::-1]
