"""Regenerates tests/c/ref_cases.h from tests/reference/cases.json (MONAI 1.6.1 results).

Run from the repository root: python3 tests/c/gen_ref_cases.py. The output is checked in, so
building and running the C tests needs only a C compiler.
"""

import json

CASES = [
    ("monai_DiceLoss_1d_sigmoid_multilabel_default", "REF1"),
    ("monai_DiceLoss_2d_softmax_label_none", "REF2"),
    ("monai_DiceCELoss_2d_softmax_label_weight", "REF3"),
]

d = json.load(open("tests/reference/cases.json"))
out = [
    "/* Reference data for tests/c: generated from tests/reference/cases.json (MONAI 1.6.1",
    " * monai.losses.DiceLoss, DiceCELoss) by tests/c/gen_ref_cases.py; checked in so the C tests need",
    " * nothing but a C compiler. Do not edit. */",
    "#ifndef DICE_TEST_REF_CASES_H",
    "#define DICE_TEST_REF_CASES_H",
    "",
]


def arr(name, ctype, vals, fmt):
    out.append("static const %s %s[%d] = {" % (ctype, name, len(vals)))
    for i in range(0, len(vals), 6):
        out.append("  " + ", ".join(fmt(v) for v in vals[i : i + 6]) + ",")
    out.append("};")


f32 = lambda v: repr(float(v)) + "f"
f64 = lambda v: repr(float(v))
for cid, pre in CASES:
    c = [c for c in d["cases"] if c["id"] == cid][0]
    out.append(
        "/* %s: init_kwargs %s, input %s, target %s */"
        % (cid, json.dumps(c["init_kwargs"]), c["data"]["input"]["shape"], c["data"]["target"]["shape"])
    )
    arr(pre + "_input", "float", c["data"]["input"]["data"], f32)
    if pre in ("REF2", "REF3"):  # a float label map in MONAI (to_onehot_y); passed to dice as int64 labels
        arr(pre + "_labels", "int64_t", [int(v) for v in c["data"]["target"]["data"]], str)
    else:
        arr(pre + "_target", "float", c["data"]["target"]["data"], f32)
    loss = c["data"]["expected_loss"]["data"]
    arr(pre + "_loss", "double", loss if isinstance(loss, list) else [loss], f64)
    arr(pre + "_grad", "double", c["data"]["expected_grad_input"]["data"], f64)
    out.append("")
out.append("#endif")
open("tests/c/ref_cases.h", "w").write("\n".join(out) + "\n")
