"""Every monai.losses case of the vendored references, through dice.compat.monai."""

import numpy as np
import pytest

from conftest import arrays_of, assert_matches_case, cases, kwargs_of
from dice.compat import monai


@pytest.mark.parametrize("case", cases("monai.losses.DiceLoss"))
def test_dice_loss(case):
    (x, y), data = arrays_of(case)
    loss = monai.DiceLoss(**kwargs_of(case["init_kwargs"]))
    value = loss(x, y, **kwargs_of(case["call_kwargs"]))
    value2, grad = loss(x, y, return_grad=True)
    assert np.array_equal(value, value2, equal_nan=True)
    assert grad.dtype == x.dtype and grad.shape == x.shape
    assert_matches_case(case, data, value, grad)
