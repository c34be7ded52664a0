"""The SkipLayerNormalization rewrite computes what ONNX Runtime's fused kernel computes, on small graphs."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from answerdesk.knowledge.embedding.onnx_rewrite import decompose_skip_layer_norms

HIDDEN = 8


def skip_layer_norm_model(*, opset: int, bias: bool, beta: bool, residual: bool) -> onnx.ModelProto:
    """x, skip -> SkipLayerNormalization -> Relu -> y (and the residual sum, when wired, as a 2nd output)."""
    rng = np.random.default_rng(7)
    initializers = {
        "gamma": rng.normal(1.0, 0.2, HIDDEN),
        "beta": rng.normal(0.0, 0.2, HIDDEN),
        "bias": rng.normal(0.0, 0.5, HIDDEN),
    }
    inputs = ["x", "skip", "gamma", "beta" if beta else "", "bias" if bias else ""]
    outputs = ["normed", "", "", "residual"] if residual else ["normed"]
    nodes = [
        helper.make_node(
            "SkipLayerNormalization", inputs, outputs, name="ln", domain="com.microsoft", epsilon=1e-5
        ),
        helper.make_node("Relu", ["normed"], ["y"], name="relu"),
    ]
    tensor = [TensorProto.FLOAT, ["batch", "sequence", HIDDEN]]
    graph_outputs = [helper.make_tensor_value_info("y", *tensor)]
    if residual:
        graph_outputs.append(helper.make_tensor_value_info("residual", *tensor))
    graph = helper.make_graph(
        nodes,
        "skip_ln",
        [helper.make_tensor_value_info(name, *tensor) for name in ("x", "skip")],
        graph_outputs,
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in initializers.items() if k in inputs],
    )
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("com.microsoft", 1)],
        ir_version=9,  # the newest this onnxruntime reads
    )


def run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[Any]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    outputs: list[Any] = session.run(None, feeds)
    return outputs


SHAPES = [(True, True, False), (True, True, True), (False, False, True)]  # (bias, beta, residual)


@pytest.mark.parametrize("opset", [17, 18])
@pytest.mark.parametrize(("bias", "beta", "residual"), SHAPES)
def test_decomposed_graph_matches_the_fused_kernel(
    opset: int, bias: bool, beta: bool, residual: bool
) -> None:
    model = skip_layer_norm_model(opset=opset, bias=bias, beta=beta, residual=residual)
    rng = np.random.default_rng(11)
    # Rows with a large offset and a small spread are where a careless variance formula loses precision.
    x = (rng.normal(0, 1, (2, 5, HIDDEN)) + rng.normal(0, 30, (2, 5, 1))).astype(np.float32)
    feeds = {"x": x, "skip": rng.normal(0, 1, (2, 5, HIDDEN)).astype(np.float32)}
    expected = run(model, feeds)

    replaced = decompose_skip_layer_norms(model)

    onnx.checker.check_model(model)
    assert replaced == 1
    ops = Counter(node.op_type for node in model.graph.node)
    assert ops["SkipLayerNormalization"] == 0
    assert ops["ReduceMean"] == 2
    for got, want in zip(run(model, feeds), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_other_nodes_are_left_alone_and_in_order() -> None:
    model = skip_layer_norm_model(opset=17, bias=True, beta=True, residual=False)

    decompose_skip_layer_norms(model)

    names = [node.name for node in model.graph.node]
    assert names[-1] == "relu"  # the consumer still comes after everything the rewrite added
    assert decompose_skip_layer_norms(model) == 0  # nothing left to rewrite


def test_statistics_outputs_are_refused_rather_than_dropped() -> None:
    model = skip_layer_norm_model(opset=17, bias=True, beta=True, residual=False)
    node = model.graph.node[0]
    node.output.extend(["mean", "inv_std"])

    with pytest.raises(ValueError, match="mean and inverse-deviation"):
        decompose_skip_layer_norms(model)
