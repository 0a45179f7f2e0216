"""The ctypes declarations follow include/dice.h: struct fields in order, types and sizes."""

import ctypes
import re
from pathlib import Path

import pytest

from dice import _lib

HEADER = Path(__file__).resolve().parents[2] / "include" / "dice.h"
C_TYPES = {
    "uint8_t": ctypes.c_uint8,
    "uint16_t": ctypes.c_uint16,
    "int32_t": ctypes.c_int32,
    "uint32_t": ctypes.c_uint32,
    "int64_t": ctypes.c_int64,
    "uint64_t": ctypes.c_uint64,
    "double": ctypes.c_double,
    "size_t": ctypes.c_size_t,
}


def _header_fields(struct):
    text = HEADER.read_text()
    body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (struct, struct), text, re.S).group(1)
    fields = []
    for line in body.splitlines():
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        m = re.fullmatch(r"(?:const )?(?:struct )?(\w+) (\*?)(\w+)(?:\[(\d+)\])?;", line)
        assert m, f"unparsed line in {struct}: {line!r}"
        fields.append(m.groups())
    return fields


@pytest.mark.parametrize("struct", ["DiceTensor", "DiceLossOptions", "DiceDecisions", "DiceSurfaceOptions"])
def test_struct_matches_header(struct):
    cls = getattr(_lib, struct)
    ours = cls._fields_
    theirs = _header_fields(struct)
    assert [name for name, _ in ours] == [f[2] for f in theirs]
    for (name, ctype), (ctyp, ptr, _, count) in zip(ours, theirs):
        if ptr:
            assert issubclass(ctype, (ctypes._Pointer, ctypes.c_void_p)), name
        elif ctyp in C_TYPES:
            expected = C_TYPES[ctyp] * int(count) if count else C_TYPES[ctyp]
            assert ctypes.sizeof(ctype) == ctypes.sizeof(expected), name
            if not count:
                assert ctype == C_TYPES[ctyp] or ctypes.sizeof(ctype) == ctypes.sizeof(C_TYPES[ctyp]), name


def test_sizes_and_abi_version():
    text = HEADER.read_text()
    size = int(re.search(r"#define DICE_LOSS_OPTIONS_SIZE (\d+)", text).group(1))
    assert ctypes.sizeof(_lib.DiceLossOptions) == size
    assert int(re.search(r"#define DICE_ABI_VERSION (\d+)", text).group(1)) == _lib.ABI_VERSION


def test_status_codes_match_header():
    from dice._errors import STATUS

    text = HEADER.read_text()
    codes = {int(v): n for n, v in re.findall(r"DICE_STATUS_(\w+) = (\d+),", text)}
    assert {k: v for k, v in codes.items() if k} == {k: name for k, (name, _) in STATUS.items()}


def _constants(prefix, exclude=None):
    text = HEADER.read_text()
    found = re.findall(r"DICE_%s_([A-Z_]+)(?: =|) (\d+)" % prefix, text)
    return {name.lower(): int(v) for name, v in found if not (exclude and name.startswith(exclude))}


def test_enumerations_match_header():
    from dice.losses import _ENUMS

    assert _lib.ACTIVATION == _constants("ACTIVATION")
    assert _lib.REDUCTION == _constants("REDUCTION")
    assert _lib.DECISIONS == _constants("DECISIONS")
    assert _lib.METRIC == _constants("METRIC", exclude="REDUCTION_")
    assert _lib.EMPTY_GT == _constants("EMPTY_GT")
    assert _lib.METRIC_REDUCTION == _constants("METRIC_REDUCTION")
    surface = _constants("SURFACE")
    surface["surface_dice"] = surface.pop("dice")
    surface["surface_dice_subvoxels"] = surface.pop("dice_subvoxels")
    assert _lib.SURFACE == surface
    for field, prefix in [
        ("overlap", "OVERLAP"),
        ("gdl_weight", "GDL_WEIGHT"),
        ("form", "LOSS_FORM"),
        ("weight_mode", "WEIGHT_MODE"),
        ("pointwise", "POINTWISE"),
    ]:
        assert _ENUMS[field] == _constants(prefix), field
    assert _constants("FOCAL_ALPHA") == {"none": 0, "scalar": 1, "per_class": 2}


def test_ramp_kinds_match_header():
    assert _lib.RAMP == _constants("RAMP")
