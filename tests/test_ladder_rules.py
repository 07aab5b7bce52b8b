"""The relationship ladder rules (customers/ladder.py): one rung at a time, down before up."""

import pytest

from customers.ladder import Facts, Move, Rules, suggest

RULES = Rules(window_days=90, up_positives=3, down_negatives=2)


def facts(level="conversation", debt=0, positives=0, negatives=0, last_nps=None):
    return Facts(level=level, recovery_debt=debt, positives=positives, negatives=negatives, last_nps=last_nps)


def test_repeated_positives_without_debt_earn_the_next_rung():
    assert suggest(facts(positives=3), RULES) == Move("collaboration", "earned")


def test_too_few_positives_earn_nothing():
    assert suggest(facts(positives=2), RULES) is None


def test_recovery_debt_blocks_a_level_up():
    assert suggest(facts(positives=5, debt=1), RULES) is None


def test_a_negative_in_the_window_blocks_a_level_up():
    assert suggest(facts(positives=5, negatives=1), RULES) is None


def test_top_rungs_need_a_promoter():
    assert suggest(facts(level="collaboration", positives=5, last_nps=8), RULES) is None
    assert suggest(facts(level="collaboration", positives=5, last_nps=9), RULES) == Move("co_creation", "earned")


def test_co_creation_promoter_becomes_evangelist():
    assert suggest(facts(level="co_creation", positives=3, last_nps=10), RULES) == Move("evangelist", "earned")


def test_evangelist_has_no_rung_above():
    assert suggest(facts(level="evangelist", positives=9, last_nps=10), RULES) is None


def test_detractor_slips_one_rung():
    assert suggest(facts(level="collaboration", positives=9, last_nps=6), RULES) == Move("conversation", "detractor")


def test_repeated_negatives_with_debt_slip_one_rung():
    assert suggest(facts(level="conversation", negatives=2, debt=3), RULES) == Move("communication", "negatives")


def test_repeated_negatives_already_made_up_for_do_not_slip():
    assert suggest(facts(level="conversation", negatives=2, debt=0, positives=1), RULES) is None


@pytest.mark.parametrize("last_nps", [0, 6])
def test_bottom_rung_cannot_slip_and_a_detractor_cannot_climb(last_nps):
    assert suggest(facts(level="communication", positives=9, last_nps=last_nps), RULES) is None


def test_thresholds_come_from_the_rules():
    assert suggest(facts(positives=1), Rules(up_positives=1)) == Move("collaboration", "earned")
