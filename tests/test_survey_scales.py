"""Survey scores become experiences: valence by the standard bands, intensity by distance from neutral."""

import pytest

from feedback.scales import intensity, valence


@pytest.mark.parametrize(
    ("kind", "negatives", "neutrals", "positives"),
    [
        ("nps", range(0, 7), range(7, 9), range(9, 11)),
        ("csat", range(1, 3), range(3, 4), range(4, 6)),
        ("ces", range(1, 4), range(4, 6), range(6, 8)),
    ],
)
def test_valence_follows_the_standard_bands(kind, negatives, neutrals, positives):
    assert {valence(kind, s) for s in negatives} == {-1}
    assert {valence(kind, s) for s in neutrals} == {0}
    assert {valence(kind, s) for s in positives} == {1}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("nps", {0: 5, 1: 5, 2: 4, 3: 3, 4: 3, 5: 2, 6: 1, 7: 1, 8: 1, 9: 3, 10: 5}),
        ("csat", {1: 5, 2: 3, 3: 1, 4: 3, 5: 5}),
        ("ces", {1: 5, 2: 4, 3: 3, 4: 1, 5: 1, 6: 3, 7: 5}),
    ],
)
def test_intensity_grows_with_distance_from_neutral(kind, expected):
    assert {score: intensity(kind, score) for score in expected} == expected
