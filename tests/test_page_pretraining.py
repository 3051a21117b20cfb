"""The unsupervised pretraining page in AppTest (tiny preset): every button, every setting, results served from the
store to another session, bad settings and a damaged results file."""

import shutil

import pytest

from core import pretraining, store
from core.pretraining import tables, tuned
from tests.app_support import chart_keys, finish, metric_values, open_page, text

PAGE = "pages/5_Unsupervised_Pretraining.py"
SEEDS = pretraining.seed_list(3)  # the page's default under the tiny preset
DEFAULT = pretraining.experiment("book", 50, tiny=True)  # the page's default under the tiny preset
BUTTONS = {"up_pretrain_train", "up_fine_tune_train", "up_counts_train", "up_history_train"}


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory, fashion_mnist):
    """A results folder holding the default experiment's 3 seeds, trained once for the tests that read it."""
    folder = tmp_path_factory.mktemp("pretraining-page")
    pretraining.fine_tune(DEFAULT, SEEDS, store.Store(folder / store.DB_NAME))
    return folder


@pytest.fixture
def empty_folder(tmp_path, monkeypatch, fashion_mnist):
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def trained(trained_folder, tmp_path, monkeypatch):
    """A copy of the trained folder per test, so what one test trains cannot change what another reads."""
    folder = tmp_path / "results"
    shutil.copytree(trained_folder, folder)
    monkeypatch.setenv("LAB_DATA_DIR", str(folder))
    return folder


def buttons(app) -> set:
    return {button.key for button in app.button}


def test_fresh_page_offers_every_training_and_trains_nothing_by_itself(empty_folder):
    app = open_page(PAGE)
    assert BUTTONS <= buttons(app)
    info = text(app, "info")
    assert "0 of 3 autoencoders" in info and "0 of 3 seeds" in info and "0 of 2 regimes" in info
    assert f"0 of {len(pretraining.TINY_LABEL_COUNTS)} label counts" in info
    assert "Tiny preset" in text(app, "caption")
    assert "same number of updates" in text(app, "markdown")
    assert not store.Store().finished_seeds(DEFAULT) and not chart_keys(app)
    callout = [expander for expander in app.expander if "Keras 3" in expander.label]
    assert callout and "input_shape" in " ".join(markdown.value for markdown in callout[0].markdown)


def test_pretraining_button_draws_the_autoencoders_and_another_session_reads_them(empty_folder):
    app = open_page(PAGE)
    app.button(key="up_pretrain_train").click().run()
    finish(app, "up_pretrain")
    assert {"up_reconstructions_chart", "up_curves_chart", "up_codes_chart", "up_filters_chart"} <= set(chart_keys(app))
    metrics = metric_values(app)
    assert metrics["Dead code units"].endswith("of 8")  # the tiny code layer
    assert len(metrics["Dead units, every layer"].split(" / ")) == 2
    assert pretraining.stored_seeds(DEFAULT.pretraining, SEEDS, store.Store()) == SEEDS
    assert "up_fine_tune_train" in buttons(app)  # the arms are still to train

    other_session = open_page(PAGE)
    assert "up_pretrain_train" not in buttons(other_session)
    other_session.selectbox(key="up_shown_seed").set_value(2).run()
    assert not other_session.exception and "up_filters_chart" in chart_keys(other_session)


def test_fine_tuning_button_trains_every_arm_and_shows_the_paired_verdicts(empty_folder):
    app = open_page(PAGE)
    app.button(key="up_fine_tune_train").click().run()
    assert "Fine-tuning:" in text(app, "info")
    finish(app, "up_fine_tune")
    assert store.Store().finished_seeds(DEFAULT) == set(SEEDS)
    assert {"up_arms_chart", "up_gains_chart"} <= set(chart_keys(app))
    metrics = metric_values(app)
    for arm in pretraining.ARMS:
        assert metrics[tables.arm_label(arm)].endswith("%")
    verdicts = text(app, "success", "error", "warning", "info")
    for arm in ("frozen", "frozen_then_top", "fine_tune_all", "raw_pixels"):  # one box per arm, named
        assert verdicts.count(f"**{tables.arm_label(arm).capitalize()}.** ") == 1
    assert verdicts.count("with 50 labels per seed, on these 300 test images") == 5  # and the label-count row
    assert "B on A" not in verdicts
    assert {"Frozen, 20 updates", "Frozen, 40 updates", "Standardised codes, 40 updates"} <= set(metrics)
    assert "up_pretrain_train" not in buttons(app)  # fine-tuning pretrained the missing autoencoders first


def test_stored_seeds_are_read_and_statistics_name_the_seeds(trained):
    app = open_page(PAGE)
    assert not {"up_pretrain_train", "up_fine_tune_train"} & buttons(app)
    assert "3 seeds" in text(app, "success", "error", "warning", "info")
    assert "With 3 seeds the 95% interval of the mean" in text(app, "caption")
    assert app.get("download_button")


def test_fewer_stored_seeds_than_asked_are_shown_with_a_warning(trained):
    app = open_page(PAGE, {"up_seeds": 4})
    assert "Showing the 3 seeds stored so far." in text(app, "warning")
    assert "3 of 4 seeds are in the results store" in text(app, "info")


def test_label_counts_button_fills_the_accuracy_bands(trained, monkeypatch):
    monkeypatch.setattr(pretraining, "TINY_LABEL_COUNTS", (20, 50))  # two counts stand for four
    app = open_page(PAGE)
    assert "1 of 2 label counts are in the results store" in text(app, "info")  # 50 labels is trained
    assert "up_labels_chart" in chart_keys(app)
    app.button(key="up_counts_train").click().run()
    finish(app, "up_counts")
    assert {"up_labels_chart", "up_label_gains_chart"} <= set(chart_keys(app))
    verdicts = text(app, "success", "error", "warning", "info")
    assert "**20 labels.** " in verdicts and "with 20 labels per seed" in verdicts
    assert "up_counts_train" not in buttons(app)


def test_history_button_trains_2006_and_today_side_by_side(trained):
    app = open_page(PAGE)
    app.button(key="up_history_train").click().run()
    finish(app, "up_history")
    assert "up_history_chart" in chart_keys(app)
    subheaders = [subheader.value for subheader in app.subheader]
    assert "2006: sigmoid, plain SGD" in subheaders and "Today: relu, He init, Nadam" in subheaders
    assert text(app, "caption").count("Seed spread (sd):") == 2
    assert text(app, "caption").count("The floor, a softmax regression on raw pixels: ") == 2
    for regime in ("2006", "today"):
        assert store.Store().finished_seeds(pretraining.experiment(regime, 50, tiny=True)) == set(SEEDS)


@pytest.mark.parametrize("seeds", [0, 201])
def test_bad_seed_counts_show_a_message_not_a_traceback(empty_folder, seeds):
    app = open_page(PAGE)
    app.number_input(key="up_seeds").set_value(seeds).run()
    assert not app.exception
    assert "Choose 1 to 200 seeds" in text(app, "error")
    assert not BUTTONS & buttons(app)


def test_regime_labels_and_autoencoder_options_change_the_experiment(empty_folder):
    app = open_page(PAGE)
    app.selectbox(key="up_regime").set_value("today")
    app.selectbox(key="up_labels").set_value(100)
    app.selectbox(key="up_schedule").set_value("whole stack at once")
    app.selectbox(key="up_code").set_value("selu")
    app.toggle(key="up_tied").set_value(True)
    app.number_input(key="up_noise").set_value(0.2)
    app.number_input(key="up_seeds").set_value(2).run()
    assert not app.exception
    markdown = text(app, "markdown")
    assert "784-16-16-8 (relu, code selu), the whole stack at once" in markdown and "tied, noise 0.2" in markdown
    assert "Fine-tune with 100 labels" in [header.value for header in app.header][1]
    assert "0 of 2 seeds" in text(app, "info")
    assert "--regime today --labels 20,50,100,200 --seeds 2 --tiny" in text(app, "caption")


def test_settings_come_from_the_url(empty_folder):
    app = open_page(PAGE, {"up_regime": "2006", "up_seeds": "4", "up_schedule": "greedy, one layer at a time",
                           "up_tied": "true"})
    assert app.selectbox(key="up_regime").value == "2006" and app.number_input(key="up_seeds").value == 4
    assert app.toggle(key="up_tied").value
    assert "784-16-16-8 (sigmoid, code sigmoid), greedy, one layer at a time" in text(app, "markdown")
    assert "0 of 4 autoencoders" in text(app, "info")


def test_damaged_store_is_moved_aside_not_deleted(empty_folder):
    damaged = empty_folder / store.DB_NAME
    damaged.write_bytes(b"not an SQLite file " * 200)
    app = open_page(PAGE)
    assert "cannot be used" in text(app, "error")
    app.button(key="up_move_aside").click().run()
    assert not app.exception and "was kept as" in text(app, "success")
    assert len(list(empty_folder.glob(f"{store.DB_NAME}.damaged-*"))) == 1
    assert "0 of 3 seeds" in text(app, "info")


def test_tuned_setting_offers_every_arm_tuned_and_labels_the_single_rate_sections(empty_folder):
    app = open_page(PAGE)
    app.toggle(key="up_tuned").set_value(True).run()
    assert not app.exception
    assert {"up_tuned_train", "up_history_tuned_train", "up_pretrain_train"} <= buttons(app)
    assert not {"up_fine_tune_train", "up_history_train"} & buttons(app)  # the single-rate runs are the other setting
    captions = text(app, "caption")
    assert "at each of 4 rates (0.0003, 0.001, 0.003, 0.01)" in captions and "never the test images" in captions
    assert "Every arm at the regime's single rate (0.001) here" in captions  # the label counts stay the book's
    assert "--seeds 3 --tune --tiny" in captions
    assert "0 of 3 seeds" in text(app, "info") and "0 of 2 regimes" in text(app, "info")
    headers = [header.value for header in app.header]
    assert "2. Fine-tune with 50 labels, every arm tuned" in headers and "5. 2006 vs today, every arm tuned" in headers


def test_tuned_button_trains_every_arm_on_the_grid_and_says_how_much_gain_survives(trained):
    app = open_page(PAGE, {"up_tuned": "true"})
    assert app.toggle(key="up_tuned").value
    app.button(key="up_tuned_train").click().run()
    finish(app, "up_tuned")
    config = tuned.TunedFineTuning(DEFAULT)
    assert store.Store().finished_seeds(config) == set(SEEDS)
    assert {"up_tuned_arms_chart", "up_tuned_rates_chart", "up_tuned_gains_chart"} <= set(chart_keys(app))
    found = tuned.load(config, SEEDS, store.Store())
    markdown = text(app, "markdown")
    assert tables.survival_sentence(found) in markdown and "single rate 0.001:" in markdown
    metrics = metric_values(app)
    for arm in pretraining.ARMS:
        assert metrics[tables.arm_label(arm)] == f"{found.tuned.arm(arm).mean():.2%}"
    verdicts = text(app, "success", "error", "warning", "info")
    assert verdicts.count(", every arm tuned.** ") == len(pretraining.PRETRAINED_ARMS)
    assert "frozen-codes diagnostics (section 3) run at the single rate" in text(app, "caption")


def test_tuned_history_trains_both_regimes_on_their_own_grids(trained):
    app = open_page(PAGE, {"up_tuned": "true"})
    app.button(key="up_history_tuned_train").click().run()
    finish(app, "up_history_tuned")
    assert {"up_history_rates_2006_chart", "up_history_rates_today_chart",
            "up_history_tuned_chart"} <= set(chart_keys(app))
    markdown = text(app, "markdown")
    assert "Every arm tuned (0.03, 0.1, 0.3, 1," in markdown and "single rate 0.1:" in markdown
    assert "Every arm tuned (0.0003, 0.001, 0.003, 0.01," in markdown
    for regime in ("2006", "today"):
        config = tuned.TunedFineTuning(pretraining.experiment(regime, 50, tiny=True))
        assert store.Store().finished_seeds(config) == set(SEEDS)
