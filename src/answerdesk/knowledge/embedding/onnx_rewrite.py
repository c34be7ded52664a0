"""Graph rewrites after ONNX Runtime's BERT fusion, where a fused CPU kernel is slower than plain ops."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

SKIP_LAYER_NORM = "SkipLayerNormalization"
_MS_DOMAIN = "com.microsoft"


def decompose_skip_layer_norms(model: Any) -> int:
    """Replace each SkipLayerNormalization of ``model`` (an onnx.ModelProto, edited in place) by standard ops.

    ONNX Runtime's CPU kernel for it normalises one row at a time in scalar code; the same maths as
    Add/ReduceMean/Sub/Mul/Sqrt/Div ops (vectorised, run over the whole tensor) measured 7.8 ms vs 2.4 ms
    on 4096x384 here, which took ~10% off the whole model. ONNX Runtime does not fuse the pattern back
    (its LayerNorm fusion looks for Pow, not Mul). Returns how many nodes were replaced.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    constants: dict[str, Any] = {}

    def constant(name: str, value: NDArray[Any]) -> str:
        constants.setdefault(name, numpy_helper.from_array(value, name))
        return name

    nodes: list[Any] = []

    def op(kind: str, inputs: list[str], output: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(kind, inputs, [output], name=f"{output}/{kind}", **attributes))
        return output

    def mean_of_last_axis(source: str, output: str) -> str:
        # ReduceMean took its axes as an attribute until opset 18 and as an input from then on.
        if opset >= 18:
            axes = constant("skip_ln/axes", np.array([-1], dtype=np.int64))
            return op("ReduceMean", [source, axes], output, keepdims=1)
        return op("ReduceMean", [source], output, axes=[-1], keepdims=1)

    replaced = 0
    for node in graph.node:
        if node.op_type != SKIP_LAYER_NORM or node.domain != _MS_DOMAIN:
            nodes.append(node)
            continue
        x, skip, gamma, beta, bias = [*node.input, "", ""][:5]
        output, mean_out, inv_std_out, residual = [*node.output, "", "", ""][:4]
        if mean_out or inv_std_out:
            raise ValueError(f"{node.name}: the mean and inverse-deviation outputs are not supported")
        epsilon = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "epsilon"), 1e-12)
        eps = constant(f"skip_ln/epsilon_{epsilon!r}", np.array(epsilon, dtype=np.float32))
        prefix = node.name or output
        if bias:
            x = op("Add", [x, bias], f"{prefix}/biased")
        # Output 3, when wired, is the residual stream itself: input + bias + skip.
        total = op("Add", [x, skip], residual or f"{prefix}/sum")
        centred = op("Sub", [total, mean_of_last_axis(total, f"{prefix}/mean")], f"{prefix}/centred")
        squared = op("Mul", [centred, centred], f"{prefix}/squared")
        variance = mean_of_last_axis(squared, f"{prefix}/variance")
        deviation = op("Sqrt", [op("Add", [variance, eps], f"{prefix}/variance_eps")], f"{prefix}/deviation")
        normed = op("Div", [centred, deviation], f"{prefix}/normed")
        if beta:
            op("Add", [op("Mul", [normed, gamma], f"{prefix}/scaled"), beta], output)
        else:
            op("Mul", [normed, gamma], output)
        replaced += 1
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(constants.values())
    return replaced
