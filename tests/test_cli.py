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


def _mean_accuracy_line(scratch, transfer_acc) -> str:
    return (f"mean accuracy: B from scratch {100 * sum(scratch) / len(scratch):.2f}%, "
            f"B on A {100 * sum(transfer_acc) / len(transfer_acc):.2f}%")


def test_transfer_tune_prints_the_book_arms_first_and_the_tuned_arms_last(fashion_mnist, run_cli, tmp_path):
    from core import store, transfer
    from core.transfer import fair

    code, out, err = run_cli("transfer", "--protocol", "tiny", "--seeds", "3", "--tune-grid", "0.03,0.001")
    assert code == 0, err
    lines = out.splitlines()
    heading = next(i for i, line in enumerate(lines) if line.startswith("the book's protocol (untuned), from the same"))
    picked = next(i for i, line in enumerate(lines) if line.startswith("rates picked on validation"))
    tuned = next(i for i, line in enumerate(lines) if line.startswith("tuned (the fair comparison)"))
    assert heading < picked < tuned and "from 0.001, 0.03" in lines[tuned]
    config = fair.FairComparison(transfer.ComparisonConfig(transfer.PROTOCOLS["tiny"]), (0.001, 0.03))
    rows = [row.result for row in store.Store(tmp_path / store.DB_NAME).results(config, range(3))]
    assert len(rows) == 3
    means = [line for line in lines if line.startswith("mean accuracy:")]
    assert means[0] == _mean_accuracy_line([row["book_scratch_test_accuracy"] for row in rows],
                                           [row["book_transfer_test_accuracy"] for row in rows])
    assert means[-1] == _mean_accuracy_line([row["scratch_test_accuracy"] for row in rows],
                                            [row["transfer_test_accuracy"] for row in rows])
    assert lines.index(means[0]) < heading + 4 and lines.index(means[-1]) > tuned
    assert lines[-1].startswith("verdict:") and "rates searched over 0.001, 0.03" in lines[-1]
    counts = [row["scratch_search"]["picked_rate"] for row in rows]
    assert f"B from scratch 0.001: {counts.count(0.001)}, 0.03: {counts.count(0.03)}" in lines[picked]


def test_transfer_tune_runs_several_pairs_with_one_model_a_per_seed(fashion_mnist, run_cli, tmp_path):
    from core import store, transfer
    from core.transfer import fair

    code, out, err = run_cli("transfer", "--protocol", "tiny", "--seeds", "3", "--tune-grid", "0.01", "--vary-a",
                             "--pairs", "0,1", "5,6")
    assert code == 0, err
    assert out.count("task B:") == 2 and out.count("tuned (the fair comparison)") == 2
    config = fair.FairComparison(transfer.ComparisonConfig(transfer.PROTOCOLS["tiny"], vary_a=True), (0.01,))
    results = store.Store(tmp_path / store.DB_NAME)
    for pair in ((0, 1), (5, 6)):
        assert [row.result["a_seed"] for row in results.results(config.with_pair(pair))] == [0, 1, 2]


def test_transfer_tune_refuses_a_bad_grid_and_the_ray_cluster(fashion_mnist, run_cli, monkeypatch):
    code, _, err = run_cli("transfer", "--protocol", "tiny", "--seeds", "3", "--tune-grid", "0.01,abc")
    assert code == 2 and "learning rates" in err.lower()
    monkeypatch.setenv("LAB_RAY_ADDRESS", "ray://nowhere:10001")
    code, out, err = run_cli("transfer", "--protocol", "tiny", "--seeds", "3", "--tune")
    assert code == 2 and "Ray cluster" in err and "task B:" not in out


def test_auxiliary_tune_prints_the_tuned_table_the_picked_rates_and_the_headline_picked_on_validation(
        fashion_mnist, run_cli):
    """`python -m core auxiliary --tiny --tune`, in this process: every arm searched over one grid, the rates each
    arm's seeds picked, and the headline arm picked on validation with its Holm-corrected verdict."""
    from core.auxiliary import ARMS, arm_label

    code, out, errors = run_cli("auxiliary", "--tiny", "--tune-grid", "0.001,0.01", "--labels", "20", "--seeds", "2")
    assert code == 0, errors[-2000:]
    assert "every arm tuned over Nadam 0.001, 0.01, each seed's rate picked on validation" in out
    assert "verdicts corrected for 12 arms (Holm, on the signed-rank p-values)" in out and "Holm p" in out
    assert "seeds per picked rate (on validation), grid 0.001, 0.01" in out
    picked = out[out.index("seeds per picked rate"):].splitlines()
    for arm in ARMS:
        line = next(line for line in picked if line.startswith(arm_label(arm) + " "))
        assert sum(int(count) for count in line.split()[-2:]) == 2  # each arm: both seeds picked one of 2 rates
    assert "20 labels [" in out and "picked from 12 arms" in out and "Holm-adjusted for 12 arms" in out
