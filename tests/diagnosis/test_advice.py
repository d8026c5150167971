"""Recommendation objects and the wording helpers of the advice."""

import l2kit as l2
from l2kit.diagnosis._rows import label_rows
from l2kit.diagnosis.advice import Recommendation, _p


def test_recommendation_is_a_registry_loss_with_options():
    rec = Recommendation("squared", l2.Squared(), {"cov_type": "HC3"})
    assert str(rec) == "Squared(), cov_type='HC3'"
    assert rec.params == {} and not rec.robust and rec.label == "Squared (OLS)"
    rec = Recommendation("huber", l2.get_loss("huber", delta=1.345))
    assert rec.robust and rec.params == {"delta": 1.345}


def test_rows_are_named_by_label_or_counted_from_one():
    assert label_rows(None, [0, 2, 3, 20]) == ["1", "3", "4", "21"]
    assert label_rows(("a", "b", "c"), [2, 0]) == ["c", "a"]


def test_p_values_are_readable():
    assert _p(0.5) == "0.500" and _p(1e-20) == "< 1e-16" and _p(2e-5) == "2e-05"
