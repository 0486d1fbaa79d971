"""The fixed tuning and validation splits, and the fixation-density salient region."""

import pytest

from semantic_jpeg import errors
from semantic_jpeg.evaluation import corpus
from semantic_jpeg.evaluation import fixations


def test_kodak_splits_by_odd_and_even_numbers():
  names = [f"kodim{i:02d}.png" for i in range(1, 25)]
  tune, validation = (corpus.select("kodak", names, split) for split in ("tune", "validation"))
  assert tune[:2] == ["kodim01.png", "kodim03.png"] and validation[0] == "kodim02.png"
  assert len(tune) == len(validation) == 12 and not set(tune) & set(validation)
  assert corpus.select("kodak", names, "all") == names


def test_scene_fixations_split_by_number_mod_4():
  names = [f"/data/images/{i:03d}.jpg" for i in range(1, 500, 2)]
  tune = corpus.select("scene_fixations", names, "tune")
  validation = corpus.select("scene_fixations", names, "validation")
  assert tune[:2] == ["/data/images/001.jpg", "/data/images/005.jpg"]
  assert validation[0] == "/data/images/003.jpg" and len(tune) == len(validation) == 125


def test_other_sets_are_unseen_and_bad_requests_fail():
  assert corpus.split_of("skimage", "astronaut.png") == "unseen"
  assert corpus.select("opencv", ["baboon.jpg"], "tune") == []
  with pytest.raises(ValueError, match="image number"):
    corpus.split_of("kodak", "lena.png")
  with pytest.raises(ValueError, match="split"):
    corpus.select("kodak", ["kodim01.png"], "train")


def test_fixation_density_peaks_where_people_looked(tmp_path):
  path = tmp_path / "fixations.csv"
  path.write_text(
    "image,viewer,y,x,start_s,duration_s\n"
    "001.jpg,1,20.0,100.0,0.1,0.2\n001.jpg,2,22.0,104.0,0.3,0.2\n002.jpg,1,5.0,5.0,0.1,0.2\n"
  )
  fixations_001 = fixations.for_image(str(path), "001", 64, 128)
  fixated = fixations.fixated_blocks(fixations_001.scaled(32, 64), share=0.01)
  assert fixated.shape == (4, 8)
  assert fixated[1, 6] and fixated.sum() == 1
  with pytest.raises(errors.FixationDataError, match="no fixations for '003'"):
    fixations.for_image(str(path), "003", 64, 128)
