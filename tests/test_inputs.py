"""core.inputs: typed numbers shown as the student wrote them, and whole-number checks with a sentence."""

import math

import pytest

from core import inputs


@pytest.mark.parametrize("typed, text", [
    (100_000, "100,000"), (100000.0, "100,000"), (1e-30, "1e-30"), (0.25, "0.25"), (-5, "-5"),
    (math.nan, "nan"), (math.inf, "inf"), ("many", "'many'"), (None, "None"), (True, "True"),
])
def test_shown_reads_as_typed(typed, text):
    assert inputs.shown(typed) == text


@pytest.mark.parametrize("typed, message", [
    (500, "Choose 1 to 30 epochs; got 500."),
    (3.5, "Choose a whole number of epochs, 1 to 30; got 3.5."),
    ("many", "Choose a whole number of epochs, 1 to 30; got 'many'."),
    (math.nan, "Choose a whole number of epochs, 1 to 30; got nan."),
    (None, "Type a number of epochs, 1 to 30."),
    (True, "Choose a whole number of epochs, 1 to 30; got True."),
])
def test_whole_number_says_what_it_refused(typed, message):
    with pytest.raises(ValueError) as refused:
        inputs.whole_number(typed, 1, 30, "epochs")
    assert str(refused.value) == message


def test_whole_number_accepts_whole_floats_and_adds_the_reason():
    assert inputs.whole_number(4.0, 1, 30, "epochs") == 4
    with pytest.raises(ValueError, match=r"^Choose 3 to 200 seeds; got 2\. Fewer than 3 say nothing about a spread\.$"):
        inputs.whole_number(2, 3, 200, "seeds", "Fewer than 3 say nothing about a spread.")
