"""The command line answers with real figures (and a clear error when the data is missing)."""

import subprocess
import sys

from tests.conftest import ROOT


def test_data_command_reports_book_counts(fashion_mnist):
    result = subprocess.run([sys.executable, "-m", "core", "data"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "task A (8 classes) train: 43986" in result.stdout
    assert "valid 5000" in result.stdout


def test_data_command_fails_clearly(tmp_path):
    env = {"FASHION_MNIST_DIR": str(tmp_path / "missing"), "PATH": ""}
    result = subprocess.run([sys.executable, "-m", "core", "data"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.returncode == 1 and "does not exist" in result.stderr and "Traceback" not in result.stderr
