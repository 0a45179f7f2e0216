"""Randomised differential tests against the real torchmetrics and medpy (skipped loudly when they
are not installed), beyond the vendored reference cases."""

import numpy as np
import pytest

from conftest import assert_close
from dice.compat import medpy as dice_medpy
from dice.compat import torchmetrics as dice_tm


def _blobs(rng, shape, empty_p=0.15):
    x = rng.random(shape)
    for ax in range(len(shape) - 3, len(shape)):
        x = (x + np.roll(x, 1, axis=ax) + np.roll(x, -1, axis=ax)) / 3
    return (x > np.quantile(x, 0.6)).astype(np.uint8)


@pytest.mark.parametrize("seed", range(30))
def test_generalized_dice_score_matches_torchmetrics(seed):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: torchmetrics differential test NOT run")
    tm = pytest.importorskip(
        "torchmetrics.segmentation", reason="torchmetrics is not installed: its differential test was NOT run"
    )
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(1, 4)), int(rng.integers(2, 5))
    shape = (n, c, *(int(v) for v in rng.integers(4, 12, size=rng.integers(2, 4))))
    p, y = _blobs(rng, shape), _blobs(rng, shape)
    p[rng.random((n, c)) < 0.2] = 0
    y[rng.random((n, c)) < 0.2] = 0
    kw = dict(
        num_classes=c,
        include_background=bool(rng.integers(0, 2)),
        per_class=bool(rng.integers(0, 2)),
        weight_type=str(rng.choice(["square", "simple", "linear"])),
    )
    fmt = str(rng.choice(["one-hot", "index"]))
    if fmt == "index":
        p, y = p.argmax(axis=1), y.argmax(axis=1)
    ref = tm.GeneralizedDiceScore(input_format=fmt, **kw)
    ours = dice_tm.GeneralizedDiceScore(input_format=fmt, **kw)
    halves = [slice(0, max(1, n // 2)), slice(max(1, n // 2), n)]
    for h in halves:
        if p[h].shape[0]:
            expected = ref(torch.tensor(p[h]).long(), torch.tensor(y[h]).long())
            assert_close(ours(p[h], y[h]), expected.numpy(), "overlap", f"seed {seed} {kw} {fmt} forward")
    assert_close(ours.compute(), ref.compute().numpy(), "overlap", f"seed {seed} {kw} {fmt} compute")


@pytest.mark.parametrize("seed", range(30))
def test_medpy_distances_match_medpy(seed):
    pytest.importorskip("scipy", reason="scipy is not installed: medpy differential test NOT run")
    binary = pytest.importorskip(
        "medpy.metric.binary", reason="medpy is not installed: its differential test was NOT run"
    )
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(5, 14, size=rng.integers(2, 4)))
    a, b = _blobs(rng, (1, 1, *shape))[0, 0], _blobs(rng, (1, 1, *shape))[0, 0]
    spacing = None if rng.integers(0, 2) else [float(v) for v in rng.uniform(0.5, 2, size=len(shape))]
    for name in ("hd", "hd95", "asd", "assd"):
        expected = getattr(binary, name)(a, b, voxelspacing=spacing)
        assert_close(
            getattr(dice_medpy, name)(a, b, voxelspacing=spacing),
            expected,
            "distance",
            f"seed {seed} {name} spacing={spacing}",
        )


def test_medpy_empty_mask_raises_like_medpy():
    import dice

    a = np.zeros((6, 6), dtype=np.uint8)
    b = np.ones((6, 6), dtype=np.uint8)
    with pytest.raises(RuntimeError) as info:
        dice_medpy.hd95(a, b)
    assert isinstance(info.value, dice.EmptyMaskError)


def _supported(fn):
    try:
        return fn()
    except NotImplementedError as e:
        pytest.xfail(str(e))


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("name", ["DiceLoss", "JaccardLoss", "TverskyLoss"])
def test_smp_losses_match_smp(name, seed):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: smp differential test NOT run")
    smp_losses = pytest.importorskip(
        "segmentation_models_pytorch.losses",
        reason="segmentation_models_pytorch is not installed: its differential test was NOT run",
    )
    from dice.compat import smp as dice_smp

    rng = np.random.default_rng(seed)
    mode = str(rng.choice(["binary", "multiclass", "multilabel"]))
    n, c = int(rng.integers(1, 4)), 1 if mode == "binary" else int(rng.integers(2, 5))
    spatial = tuple(int(v) for v in rng.integers(3, 9, size=rng.integers(1, 4)))
    x = rng.normal(size=(n, c, *spatial))
    if mode == "multiclass":
        y = rng.integers(0, c, size=(n, *spatial))
    else:
        y = (rng.random((n, c, *spatial)) < 0.3).astype(np.float64)
        y[:, rng.random(c) < 0.2] = 0  # classes absent from the whole batch
    kw = dict(
        log_loss=bool(rng.integers(0, 2)),
        from_logits=bool(rng.integers(0, 4)),
        smooth=float(rng.choice([0.0, 0.5, 1.0])),
        eps=float(rng.choice([1e-7, 1e-3])),
    )
    if not kw["from_logits"]:
        x = 1 / (1 + np.exp(-x))
    if mode != "binary" and rng.integers(0, 2):
        kw["classes"] = sorted(int(v) for v in rng.choice(c, size=int(rng.integers(1, c + 1)), replace=False))
    if mode != "binary" and rng.integers(0, 2):
        kw["class_weights"] = [float(v) for v in rng.uniform(0.1, 2, size=c)]
    if rng.integers(0, 3) == 0:
        kw["ignore_index"] = 255
        y = np.where(rng.random(y.shape) < 0.1, 255, y)
    if name == "TverskyLoss":
        kw.update(alpha=float(rng.uniform(0, 1)), beta=float(rng.uniform(0, 1)), gamma=float(rng.choice([1.0, 2.0])))
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tensor(y) if mode != "multiclass" else torch.tensor(y).long()
    ref = getattr(smp_losses, name)(mode, **kw)(xt, yt)
    ref.backward()
    value, grad = _supported(lambda: getattr(dice_smp, name)(mode, **kw)(x, y, return_grad=True))
    what = f"seed {seed} {name} {mode} {kw}"
    assert_close(value, ref.detach().numpy(), "loss", what)
    assert_close(grad, xt.grad.numpy(), "grad", what)


@pytest.mark.parametrize("seed", range(30))
def test_kornia_losses_match_kornia(seed):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: kornia differential test NOT run")
    kl = pytest.importorskip("kornia.losses", reason="kornia is not installed: its differential test was NOT run")
    from dice.compat import kornia as dice_kornia

    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(1, 4)), int(rng.integers(2, 5))
    h, w = (int(v) for v in rng.integers(3, 10, size=2))
    x = rng.normal(size=(n, c, h, w))
    y = rng.integers(0, c, size=(n, h, w))
    y = np.where(rng.random(y.shape) < 0.1, -100, y)
    if seed % 2:
        kw = dict(average=str(rng.choice(["micro", "macro"])), eps=float(rng.choice([1e-8, 1e-3])))
        if rng.integers(0, 2):
            kw["weight"] = rng.uniform(0.1, 2, size=c)
        ref_fn, ours_fn = kl.dice_loss, dice_kornia.dice_loss
    else:
        kw = dict(alpha=float(rng.uniform(0, 1)), beta=float(rng.uniform(0, 1)), eps=float(rng.choice([1e-8, 1e-3])))
        ref_fn, ours_fn = kl.tversky_loss, dice_kornia.tversky_loss
    xt = torch.tensor(x, requires_grad=True)
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    ref = ref_fn(xt, torch.tensor(y), **tkw)
    ref.backward()
    value, grad = _supported(lambda: ours_fn(x, y, return_grad=True, **kw))
    what = f"seed {seed} {ref_fn.__name__} {kw}"
    assert_close(value, ref.detach().numpy(), "loss", what)
    assert_close(grad, xt.grad.numpy(), "grad", what)


@pytest.mark.parametrize("which", ["micro", "macro", "tversky"])
def test_kornia_fully_ignored_sample(which):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: kornia differential test NOT run")
    kl = pytest.importorskip("kornia.losses", reason="kornia is not installed: its differential test was NOT run")
    from dice.compat import kornia as dice_kornia

    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 3, 5, 6))
    y = rng.integers(0, 3, size=(3, 5, 6))
    y[1] = -100  # every pixel of sample 1 ignored
    y[2][y[2] == 2] = 0  # class 2 absent from sample 2
    if which == "tversky":
        kw = dict(alpha=0.3, beta=0.7)
        ref_fn, ours_fn = kl.tversky_loss, dice_kornia.tversky_loss
    else:
        kw = dict(average=which, weight=np.array([0.5, 1.0, 2.0]))
        ref_fn, ours_fn = kl.dice_loss, dice_kornia.dice_loss
    xt = torch.tensor(x, requires_grad=True)
    ref = ref_fn(xt, torch.tensor(y), **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
    ref.backward()
    value, grad = _supported(lambda: ours_fn(x, y, return_grad=True, **kw))
    assert_close(value, ref.detach().numpy(), "loss", which)
    assert_close(grad, xt.grad.numpy(), "grad", which)
    assert not grad[1].any()
