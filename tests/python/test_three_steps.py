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
    pooled = sum(dice.dice_stats(X[i : i + 2], T[i : i + 2], **opts).sum(axis=0, keepdims=True) for i in (0, 2))
    np.testing.assert_allclose(dice.dice_finalize(pooled, **opts), values, rtol=1e-12)
    up = np.array([1.0, 2.0])
    g = np.concatenate(
        [dice.dice_backward_from_stats(X[i : i + 2], T[i : i + 2], pooled, upstream=up, **opts) for i in (0, 2)]
    )
    _, g_full = dice.dice_loss(X, T, return_grad=True, **dict(opts, weight=up))
    # d(sum_c up_c L_c)/dx equals the gradient of the weighted loss
    np.testing.assert_allclose(g, g_full, rtol=1e-10, atol=1e-15)


def test_stats_shape_errors():
    with pytest.raises(dice.DiceError, match="stats.shape"):
        dice.dice_finalize(np.zeros((2, 3)))
    with pytest.raises(dice.LengthError):
        dice.dice_backward_from_stats(X, T, np.zeros((3, 2, 3)), **OPTS)


def _family_cases():
    from dice.compat import monai

    common = dict(softmax=True, to_onehot_y=True)
    return [
        monai.DiceLoss(batch=True, **common),
        monai.DiceCELoss(weight=[0.5, 1.0, 2.0], **common),
        monai.DiceFocalLoss(batch=True, reduction="sum", **common),
        monai.DiceFocalLoss(batch=True, **common),
        monai.GeneralizedDiceLoss(**common),
        monai.TverskyLoss(include_background=False, alpha=0.2, beta=0.8, **common),
    ]


@pytest.mark.parametrize("case", range(6))
def test_family_three_steps_on_shards(case):
    """losses.stats / finalize / backward_from_stats for any loss of the family (row sums of the
    elementwise term included): the stats of item shards concatenate to the whole batch's bit
    for bit, and finalize / backward on them reproduce the one-call loss and gradient exactly."""
    from dice import losses

    impl = _family_cases()[case]
    x = X.astype(np.float32)
    kw = impl.spec(x)
    value, grad = impl(x, T, return_grad=True)
    flat, layout = losses.stats(x, T, to_onehot_y=True, **kw)
    shards = [losses.stats(x[a:b], T[a:b], to_onehot_y=True, **kw) for a, b in ((0, 1), (1, 4))]
    split = [lay.split(f) for f, lay in shards]
    triples = np.concatenate([t for t, _ in split])
    records = np.concatenate([r for _, r in split]) if layout.row_sums else None
    assert layout.row_sums == (kw.get("pointwise", "none") != "none")
    assert np.array_equal(layout.join(triples, records), flat)
    assert losses.finalize(flat, layout, **kw)[0] == value
    assert np.array_equal(losses.backward_from_stats(x, T, flat, layout, to_onehot_y=True, **kw), grad)
    # pooled rows finalize alike, except a focal term's "sum", which divides by voxels per row
    # (MONAI averages over positions first): one pooled row is not N rows there
    if kw.get("batch") and not (kw["reduction"] == "sum" and "focal" in kw.get("pointwise", "")):
        pooled = layout.pooled(flat)
        assert losses.finalize(pooled, layout.with_rows(1), **kw)[0] == value
        assert np.array_equal(
            losses.backward_from_stats(x, T, pooled, layout.with_rows(1), to_onehot_y=True, **kw), grad
        )


def test_process_group_needs_torch_distributed():
    torch = pytest.importorskip("torch")
    import dice.torch as dt

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        pytest.fail("torch.distributed is initialised in the test process")
    with pytest.raises(RuntimeError, match="init_process_group"):
        dt.DiceLoss(softmax=True, process_group=dt.WORLD)(torch.randn(2, 3, 4, 4), torch.rand(2, 3, 4, 4))
