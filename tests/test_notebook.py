"""The Colab notebook runs top to bottom against this checkout (its install cell skipped)."""

import pathlib

import nbclient
import nbformat
import pytest

pytestmark = pytest.mark.slow  # Fresh processes, exports or training.

REPO = pathlib.Path(__file__).resolve().parent.parent


def test_notebook_runs_without_errors(monkeypatch):
  monkeypatch.setenv("SEMANTIC_JPEG_SKIP_INSTALL", "1")
  monkeypatch.setenv("SEMANTIC_JPEG_REPO", str(REPO))
  notebook = nbformat.read(REPO / "notebooks" / "semantic_jpeg.ipynb", as_version=4)
  nbclient.NotebookClient(
    notebook,
    timeout=600,
    kernel_name="python3",
    resources={"metadata": {"path": str(REPO / "notebooks")}},
  ).execute()
  outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
  assert not [o for o in outputs if o.output_type == "error"]
  text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
  assert "semantic_jpeg" in text and "uniform control" in text
  assert sum("image/png" in o.get("data", {}) for o in outputs) == 3  # Map, crops, RD plot.
