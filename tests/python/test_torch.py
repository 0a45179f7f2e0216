"""dice.torch: autograd modules over the library (needs PyTorch; skipped loudly without it)."""

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed: dice.torch was NOT tested (pip install torch to run these)"
)

import dice  # noqa: E402
from conftest import arrays_of, assert_matches_case, cases, kwargs_of  # noqa: E402
from dice import torch as dtorch  # noqa: E402
from dice.compat import monai  # noqa: E402

RNG = np.random.default_rng(9)
CONFIGS = [
    dict(softmax=True, to_onehot_y=True),
    dict(sigmoid=True, reduction="none", include_background=False),
    dict(softmax=True, to_onehot_y=True, batch=True, reduction="none", weight=[0.5, 1.0, 2.0], jaccard=True),
    dict(softmax=True, to_onehot_y=True, reduction="sum", squared_pred=True),
]


def _data(cfg, shape=(2, 3, 4, 5)):
    x = torch.tensor(RNG.normal(size=shape), dtype=torch.float64, requires_grad=True)
    if cfg.get("to_onehot_y"):
        t = torch.tensor(RNG.integers(0, shape[1], size=(shape[0], 1, *shape[2:])), dtype=torch.float64)
    else:
        t = torch.tensor(RNG.integers(0, 2, size=shape), dtype=torch.float64)
    return x, t


@pytest.mark.parametrize("cfg", CONFIGS, ids=["softmax_mean", "sigmoid_none", "batch_none_weight", "sum_sq"])
def test_gradcheck(cfg):
    x, t = _data(cfg)
    loss = dtorch.DiceLoss(**cfg)
    assert torch.autograd.gradcheck(lambda inp: loss(inp, t), (x,), eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("cfg", CONFIGS, ids=["softmax_mean", "sigmoid_none", "batch_none_weight", "sum_sq"])
def test_matches_numpy(cfg):
    x, t = _data(cfg)
    out = dtorch.DiceLoss(**cfg)(x, t)
    out.sum().backward()
    value, grad = monai.DiceLoss(**cfg)(x.detach().numpy(), t.numpy(), return_grad=True)
    assert out.dtype == x.dtype and tuple(out.shape) == np.shape(value)
    np.testing.assert_array_equal(out.detach().numpy(), value)
    np.testing.assert_array_equal(x.grad.numpy(), grad)


MONAI_LOSSES = ["DiceLoss", "GeneralizedDiceLoss", "TverskyLoss", "FocalLoss", "DiceCELoss", "DiceFocalLoss"]


@pytest.mark.parametrize("case", [c for n in MONAI_LOSSES for c in cases(f"monai.losses.{n}")])
def test_reference_cases(case):
    (x, y), data = arrays_of(case)
    xt = torch.tensor(x, requires_grad=True)
    try:
        out = getattr(dtorch, case["api"].rsplit(".", 1)[1])(**kwargs_of(case["init_kwargs"]))(xt, torch.tensor(y))
    except NotImplementedError as e:
        pytest.xfail(str(e))
    out.sum().backward()
    assert_matches_case(case, data, out.detach().numpy(), xt.grad.numpy())


def test_channels_last_and_float32():
    x = torch.randn(2, 3, 6, 7).to(memory_format=torch.channels_last).requires_grad_()
    t = torch.randint(0, 3, (2, 1, 6, 7))
    loss = dtorch.DiceLoss(softmax=True, to_onehot_y=True)
    out = loss(x, t)
    out.backward()
    xc = x.detach().contiguous().requires_grad_()
    ref = loss(xc, t)
    ref.backward()
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(x.grad, xc.grad)


def test_training_step():
    torch.manual_seed(0)
    net = torch.nn.Conv2d(1, 3, 3, padding=1).double()
    loss = dtorch.DiceLoss(softmax=True, to_onehot_y=True)
    x = torch.randn(2, 1, 8, 8, dtype=torch.float64)
    t = torch.randint(0, 3, (2, 1, 8, 8))
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    first = None
    for _ in range(20):
        opt.zero_grad()
        value = loss(net(x), t)
        value.backward()
        opt.step()
        first = value.item() if first is None else first
    assert value.item() < first


def test_bad_inputs():
    loss = dtorch.DiceLoss(softmax=True)
    with pytest.raises(dice.DeviceError, match="meta"):
        loss(torch.empty(2, 3, 4, 4, device="meta"), torch.empty(2, 3, 4, 4, device="meta"))
    with pytest.raises(dice.DtypeError, match="bfloat16"):
        loss(torch.zeros(2, 3, 4, 4, dtype=torch.bfloat16), torch.zeros(2, 3, 4, 4))
    with pytest.raises(dice.LabelError):
        loss(torch.zeros(2, 3, 4, 4), torch.full((2, 1, 4, 4), 5))


def test_backward_twice_with_retain_graph():
    x, t = _data(CONFIGS[0])
    out = dtorch.DiceLoss(**CONFIGS[0])(x, t)
    out.backward(retain_graph=True)
    first = x.grad.clone()
    (3 * out).backward()
    torch.testing.assert_close(x.grad, 4 * first, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", MONAI_LOSSES)
def test_target_requiring_grad_is_refused(name):
    """The library computes no d/d(target): a target that requires grad raises instead of
    silently getting no gradient; detached (or under no_grad) it is a constant."""
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    t = torch.rand(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    loss = getattr(dtorch, name)()
    with pytest.raises(NotImplementedError, match="target requires grad"):
        loss(x, t)
    loss(x, t.detach()).backward()
    with torch.no_grad():
        loss(x, t)
