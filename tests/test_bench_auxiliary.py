"""The auxiliary-pretraining benchmark runs end to end in --quick mode (a smoke check: timings are never asserted).

It runs in this process (TensorFlow is already imported here); its stacked arm writes to a throw-away store.
"""

import pytest

pytestmark = pytest.mark.bench  # slow end-to-end runs of bench scripts: `make bench-check`, not `make test`


def test_quick_bench_runs_both_arms_and_ends_with_the_speedup_line(fashion_mnist, tmp_path, monkeypatch, capsys):
    from bench import auxiliary as bench

    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    bench.main(["--quick"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("machine: ") and "TensorFlow" in lines[0]
    assert any(line.startswith("plain Keras seed 0: ") for line in lines)  # the plain arm ran, with its accuracies
    names = [line.split(": ")[0] for line in lines[-3:]]
    assert names == ["plain_keras_10_seeds_seconds", "stacked_10_seeds_seconds", "auxiliary_speedup_10_seeds"]
    assert all(float(line.split(": ")[1]) > 0 for line in lines[-3:])
