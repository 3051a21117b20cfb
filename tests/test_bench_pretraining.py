"""The pretraining benchmark runs end to end in --quick mode (a smoke check: timings are never asserted).

It runs in this process (TensorFlow is already imported here), with results in a throw-away folder.
"""

import pytest

pytestmark = pytest.mark.bench  # slow end-to-end runs of bench scripts: `make bench-check`, not `make test`


def test_quick_bench_runs_and_ends_with_the_speedup_line(fashion_mnist, tmp_path, monkeypatch, capsys):
    from bench import pretraining as bench

    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    bench.main(["--quick"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("machine: ") and "TensorFlow" in lines[0]
    names = [line.split(": ")[0] for line in lines[-4:]]
    assert names == ["pretraining_speedup_2_seeds", "default_experiment_seconds", "full_grid_seconds",
                     "unsupervised_speedup_10_seeds"]
    assert all(float(line.split(": ")[1]) > 0 for line in lines[-4:])
