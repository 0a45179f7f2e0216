"""dice_stats -> dice_finalize -> dice_backward_from_stats reproduce dice_loss on tiles and shards."""

import numpy as np
import pytest

import dice

RNG = np.random.default_rng(5)
X = RNG.normal(size=(4, 3, 10, 12))
T = RNG.integers(0, 3, size=(4, 1, 10, 12))
OPTS = dict(softmax=True, include_background=False)


def test_tiles_add_up():
    loss, grad = dice.dice_loss(X, T, return_grad=True, **OPTS)
    tiles = [np.s_[..., :4, :], np.s_[..., 4:, :7], np.s_[..., 4:, 7:]]
    stats = sum(dice.dice_stats(X[s], T[s], **OPTS) for s in tiles)
    np.testing.assert_allclose(stats, dice.dice_stats(X, T, **OPTS), rtol=1e-12)
    np.testing.assert_allclose(dice.dice_finalize(stats, **OPTS), loss, rtol=1e-12)
    g = np.empty_like(grad)
    for s in tiles:
        g[s] = dice.dice_backward_from_stats(X[s], T[s], stats, **OPTS)
    np.testing.assert_allclose(g, grad, rtol=1e-10, atol=1e-15)


def test_batch_shards_pool():
    opts = dict(OPTS, batch=True, reduction="none")
    values, grad = dice.dice_loss(X, T, return_grad=True, **opts)
    pooled = sum(dice.dice_stats(X[i:i + 2], T[i:i + 2], **opts).sum(axis=0, keepdims=True) for i in (0, 2))
    np.testing.assert_allclose(dice.dice_finalize(pooled, **opts), values, rtol=1e-12)
    up = np.array([1.0, 2.0])
    g = np.concatenate([dice.dice_backward_from_stats(X[i:i + 2], T[i:i + 2], pooled, upstream=up, **opts)
                        for i in (0, 2)])
    _, g_full = dice.dice_loss(X, T, return_grad=True, **dict(opts, weight=up))
    # d(sum_c up_c L_c)/dx equals the gradient of the weighted loss
    np.testing.assert_allclose(g, g_full, rtol=1e-10, atol=1e-15)


def test_stats_shape_errors():
    with pytest.raises(dice.DiceError, match="stats.shape"):
        dice.dice_finalize(np.zeros((2, 3)))
    with pytest.raises(dice.LengthError):
        dice.dice_backward_from_stats(X, T, np.zeros((3, 2, 3)), **OPTS)
