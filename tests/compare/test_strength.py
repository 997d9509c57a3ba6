"""Bradley-Terry fit and intervals, against worked examples computed another way."""

import math

import pytest

from playground.compare.strength import Z95, elo, fit, pairs_from_vote, pareto_front

# A beats B twice and loses once; B beats C three times to one; A beats C two to one.
THREE = [("A", "B", 2), ("B", "A", 1), ("B", "C", 3), ("C", "B", 1), ("A", "C", 2), ("C", "A", 1)]


def by_model(strengths):
    return {s.model: s for s in strengths}


def test_two_models_match_the_closed_form():
    # A beats B 3 times, B beats A once. Maximum likelihood: p_A / p_B = 3, so with the
    # scale centred theta_A = ln(3) / 2. The information for the difference is
    # n p q = 4 * 3/4 * 1/4 = 3/4, so var(diff) = 4/3 and var(theta_A) = var(diff) / 4 = 1/3.
    s = by_model(fit([("A", "B", 3), ("B", "A", 1)], prior=0))
    assert s["A"].theta == pytest.approx(math.log(3) / 2, abs=1e-9)
    assert s["B"].theta == pytest.approx(-math.log(3) / 2, abs=1e-9)
    assert s["A"].se == pytest.approx(math.sqrt(1 / 3), abs=1e-9)
    assert s["A"].low == pytest.approx(math.log(3) / 2 - Z95 * math.sqrt(1 / 3), abs=1e-9)
    assert (s["A"].wins, s["A"].games) == (3, 4)


def test_three_models_match_a_brute_force_maximum_likelihood():
    # Computed independently: the log-likelihood maximised by coordinate search (step
    # halving to 1e-12) and its Hessian by central finite differences (h = 1e-4), inverted
    # by cofactors, the centred variance taken as w' C w with w = e_i - 1/3.
    expected = {"A": (0.479199, 0.588462), "B": (0.151085, 0.529149), "C": (-0.630285, 0.563425)}
    s = by_model(fit(THREE, prior=0))
    for model, (theta, se) in expected.items():
        assert s[model].theta == pytest.approx(theta, abs=2e-6)
        assert s[model].se == pytest.approx(se, abs=2e-6)


def test_the_prior_adds_one_virtual_tie_against_an_average_model():
    # The same brute-force computation with each model also playing one game against a
    # reference of strength 1, half won and half lost.
    expected = {"A": (0.423365, 0.547242), "B": (0.14041, 0.49988), "C": (-0.563776, 0.524117)}
    s = by_model(fit(THREE, prior=1))
    for model, (theta, se) in expected.items():
        assert s[model].theta == pytest.approx(theta, abs=2e-6)
        assert s[model].se == pytest.approx(se, abs=2e-6)


def test_a_model_that_never_lost_still_has_a_finite_strength():
    s = by_model(fit([("A", "B", 1)], prior=1))
    assert math.isfinite(s["A"].theta) and s["A"].theta > 0 > s["B"].theta
    assert s["A"].low < s["A"].theta < s["A"].high


def test_more_votes_narrow_the_interval():
    few = by_model(fit([("A", "B", 2), ("B", "A", 1)], prior=1))["A"]
    many = by_model(fit([("A", "B", 20), ("B", "A", 10)], prior=1))["A"]
    assert many.high - many.low < few.high - few.low


def test_results_come_strongest_first_on_the_elo_scale():
    result = fit(THREE, prior=1)
    assert [s.model for s in result] == ["A", "B", "C"]
    assert result[0].rating == pytest.approx(1000 + 400 / math.log(10) * result[0].theta)
    assert elo(0) == 1000
    assert fit([]) == []


def test_a_vote_for_the_best_is_a_win_over_every_other_model():
    assert pairs_from_vote(["a", "b", "c"], "b") == [("b", "a", 1.0), ("b", "c", 1.0)]


def test_a_tie_is_half_a_win_each_way():
    assert pairs_from_vote(["a", "b"]) == [("a", "b", 0.5), ("b", "a", 0.5)]


def test_the_pareto_front_keeps_models_nothing_beats_on_both_counts():
    points = [("cheap-weak", 1, 900), ("mid", 2, 1000), ("dear-strong", 5, 1100), ("dear-weak", 4, 950)]
    assert [name for name, _, _ in pareto_front(points)] == ["cheap-weak", "mid", "dear-strong"]
