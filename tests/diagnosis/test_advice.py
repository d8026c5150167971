"""Recommendation objects and the wording helpers of the advice."""

import l2kit as l2
from l2kit.diagnosis.advice import Recommendation, _p, _rows


def test_recommendation_is_a_registry_loss_with_options():
    rec = Recommendation("squared", l2.Squared(), {"cov_type": "HC3"})
    assert str(rec) == "Squared(), cov_type='HC3'"
    assert rec.params == {} and not rec.robust and rec.label == "Squared (OLS)"
    rec = Recommendation("huber", l2.get_loss("huber", delta=1.345))
    assert rec.robust and rec.params == {"delta": 1.345}


def test_rows_are_counted_from_one_and_joined_in_plain_english():
    assert _rows([0, 2, 3, 20]) == "1, 3, 4 and 21"
    assert _rows([4]) == "5"
    assert "(20 in all)" in _rows(list(range(20)))


def test_p_values_are_readable():
    assert _p(0.5) == "0.500" and _p(1e-20) == "< 1e-16" and _p(2e-5) == "2e-05"
