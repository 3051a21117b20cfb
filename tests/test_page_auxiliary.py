"""The auxiliary pretraining page in AppTest (tiny preset): every section's button, results read back from the
store by a new session, the reuse controls, and bad settings."""

import pytest

from core import auxiliary, store
from tests.app_support import chart_keys, errors, finish, metric_values, open_page, text

PAGE = "pages/6_Auxiliary_Pretraining.py"
SEEDS = (0, 1)  # the page's default under the tiny preset
BASE = auxiliary.Reuse.tiny()


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory, fashion_mnist):
    """One data folder for the module: the trained sources serve every test after the first."""
    return tmp_path_factory.mktemp("auxiliary-page")


@pytest.fixture(autouse=True)
def own_store(data_folder, monkeypatch):
    monkeypatch.setenv("LAB_DATA_DIR", str(data_folder))
    return data_folder


def test_1_fresh_page_offers_every_training_and_trains_nothing_by_itself():
    app = open_page(PAGE)
    assert {"aux_siamese_train", "aux_masked_train", "aux_reuse_train"} <= {button.key for button in app.button}
    assert "Tiny preset" in text(app, "caption")
    assert "label 1 = same class" in text(app, "markdown") and "The trap" in text(app, "markdown")
    assert not store.Store().finished_seeds(BASE.source("siamese"))
    assert not chart_keys(app)


def test_2_siamese_button_trains_and_shows_pairs_distances_and_embeddings():
    app = open_page(PAGE)
    app.button(key="aux_siamese_train").click().run()
    finish(app, "aux_siamese")
    assert store.Store().finished_seeds(BASE.source("siamese")) == set(SEEDS)
    assert {"aux_distance_chart", "aux_embedding_chart"} <= set(chart_keys(app))
    accuracy = metric_values(app)["Held-out pair accuracy (validation images, 8 classes)"]
    view = auxiliary.siamese_view(BASE.source("siamese"), SEEDS, store.Store())
    assert accuracy == f"{view.pair_accuracy.mean():.1%}"  # the number shown is the stored one
    assert "aux_siamese_train" not in {button.key for button in app.button}  # nothing missing: no button


def test_3_masked_button_trains_and_shows_examples_against_the_black_patch_floor():
    app = open_page(PAGE)
    app.button(key="aux_masked_train").click().run()
    finish(app, "aux_masked")
    assert "aux_masked_chart" in chart_keys(app)
    metrics = metric_values(app)
    view = auxiliary.masked_view(BASE.source("masked"), SEEDS, store.Store())
    assert metrics["MSE on hidden pixels (validation)"] == f"{view.valid_masked_mse.mean():.4f}"
    assert metrics["Leaving the patch black"] == f"{view.blank_masked_mse:.4f}"


def test_4_reuse_button_trains_the_comparison_and_a_new_session_reads_it_from_the_store():
    app = open_page(PAGE)
    app.button(key="aux_reuse_train").click().run()
    finish(app, "aux_reuse", timeout=600)
    for count in auxiliary.TINY_LABEL_COUNTS:
        assert store.Store().finished_seeds(BASE.with_labels(count)) == set(SEEDS)
    assert {"aux_labels_chart", "aux_gains_chart"} <= set(chart_keys(app))
    boxes = text(app, "success", "error", "warning", "info")
    assert "labels, picked from 12 arms" in boxes and "with 20 labels" in boxes and "Largest mean gain" not in boxes
    assert len(app.dataframe[0].value) == len(auxiliary.ARMS) * len(auxiliary.TINY_LABEL_COUNTS)
    assert "Untuned: the book's protocol" in text(app, "caption") and "aux_picked_chart" not in chart_keys(app)

    other = open_page(PAGE)
    assert "aux_reuse_train" not in {button.key for button in other.button}
    assert "aux_labels_chart" in chart_keys(other)


def test_5_reuse_controls_redraw_from_the_store():
    app = open_page(PAGE)
    app.radio(key="aux_mode").set_value("frozen").run()
    app.selectbox(key="aux_gain_count").set_value(10).run()
    assert not errors(app)
    boxes = text(app, "success", "error", "warning", "info")
    assert "with 10 labels" in boxes and "picked from 12 arms" in boxes
    app.multiselect(key="aux_labels").set_value([20]).run()
    assert "aux_labels_chart" in chart_keys(app) and not errors(app)


def test_6_another_patch_needs_its_own_masked_net_and_says_so():
    app = open_page(PAGE, {"aux_patch": 7})
    assert "aux_masked_train" in {button.key for button in app.button}
    assert "0 of 2 seeds are in the results store" in text(app, "info")


def test_7_one_seed_draws_the_chart_without_paired_statistics():
    app = open_page(PAGE, {"aux_seeds": 1})
    assert "Paired statistics need at least 2 seeds." in text(app, "info")


@pytest.mark.parametrize("query, message", [
    ({"aux_negative": "Pullover", "aux_positive": "Pullover"}, "two different classes"),
    ({"aux_seeds": 0}, "Choose 1 to 200 seeds"),
])
def test_8_bad_settings_show_a_message(query, message):
    app = open_page(PAGE, query)
    assert any(message in error for error in errors(app))


def test_9_no_label_count_chosen_says_so():
    app = open_page(PAGE)
    app.multiselect(key="aux_labels").set_value([]).run()
    assert any("at least one number of labels" in error for error in errors(app))
