"""Turns the packaged MiniLM weights into an int8 ONNX model: torch export, ORT fusion, int8 quantising."""

from __future__ import annotations

import json
import re
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from answerdesk.knowledge.embedding.onnx_rewrite import decompose_skip_layer_norms

ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
ONNX_OUTPUT = "last_hidden_state"
_ATTENTION_OPS = frozenset({"MultiHeadAttention", "Attention"})
_LAYER_NORMS = frozenset({"decomposed", "fused"})


@dataclass(frozen=True)
class ExportSettings:
    """Everything that changes the exported file; a cached model built with other settings is rebuilt."""

    opset: int = 17
    # Eager attention traces to the plain MatMul/Softmax pattern that ONNX Runtime's BERT fusion recognises.
    attention: str = "eager"
    fusion: str = "onnxruntime.transformers bert"
    fusion_opt_level: int = 1
    # "MultiHeadAttention" keeps Q/K/V as three int8 MatMuls and, given no mask, runs ONNX Runtime's CPU
    # flash attention; "Attention" (add it to quantised_ops for QAttention) never takes that path.
    attention_op: str = "MultiHeadAttention"
    # No mask input at all: OnnxEmbedder batches only texts of one length, so nothing is ever padded, and
    # flash attention runs only without a mask: attention layers ran ~25% faster on 256-piece chunks.
    attention_mask: bool = False
    # "decomposed" rewrites the fused SkipLayerNormalization ops into standard ops (see onnx_rewrite).
    layer_norm: str = "decomposed"
    weight_type: str = "QInt8"
    # One scale per output column: measured cosine to the full model 0.992 vs 0.94 with one per tensor.
    per_channel: bool = True
    # The embedding table stays float32: quantising it saves file size, not time.
    quantised_ops: tuple[str, ...] = ("MatMul",)
    # Regular expressions searched in node names; matching nodes stay float32, trading speed for fidelity.
    # "/output/dense/" keeps both projections back into the residual stream: cosine 0.9975, ~25% slower.
    keep_float32: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_int8_onnx(model_dir: Path, out_file: Path, settings: ExportSettings) -> None:
    """Write an int8 ONNX model of the transformer in ``model_dir`` to ``out_file`` (pooling stays outside).

    The graph takes int64 ``input_ids`` and ``token_type_ids`` (batch x sequence, both dynamic), plus
    ``attention_mask`` if ``settings.attention_mask``, and returns ``last_hidden_state``. Intermediate fp32
    files live in a temporary folder beside ``out_file`` and are removed afterwards.
    """
    _check(settings)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fp32-", dir=out_file.parent) as work:
        traced = Path(work) / "model.fp32.onnx"
        fused = Path(work) / "model.fused.onnx"
        _export_fp32(model_dir, traced, settings)
        _fuse(model_dir, traced, fused, settings)
        _quantise(fused, out_file, settings)


def _check(settings: ExportSettings) -> None:
    if settings.attention_op not in _ATTENTION_OPS:
        raise ValueError(f"attention_op must be one of {sorted(_ATTENTION_OPS)}: {settings.attention_op!r}")
    if settings.layer_norm not in _LAYER_NORMS:
        raise ValueError(f"layer_norm must be one of {sorted(_LAYER_NORMS)}: {settings.layer_norm!r}")


def _export_fp32(model_dir: Path, out_file: Path, settings: ExportSettings) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(
        str(model_dir), local_files_only=True, attn_implementation=settings.attention
    ).eval()

    class LastHiddenState(torch.nn.Module):
        # The traced signature must be exactly the three tensors; BertModel.forward takes many more.
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            output = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            hidden: torch.Tensor = output.last_hidden_state
            return hidden

    input_ids = torch.full((2, 16), 1000, dtype=torch.int64)
    attention_mask = torch.ones((2, 16), dtype=torch.int64)
    attention_mask[1, 10:] = 0  # trace with padding present, as real batches have it
    token_type_ids = torch.zeros((2, 16), dtype=torch.int64)
    dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in (*ONNX_INPUTS, ONNX_OUTPUT)}
    with torch.inference_mode(), warnings.catch_warnings():
        # The tracer warns about Python branches on tensor shapes inside transformers; the exported graph is
        # checked against sentence-transformers on padded, mixed-length batches by the tests instead.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(model),
            (input_ids, attention_mask, token_type_ids),
            str(out_file),
            dynamo=False,  # the dynamo exporter needs onnxscript, which we do not ship
            input_names=list(ONNX_INPUTS),
            output_names=[ONNX_OUTPUT],
            dynamic_axes=dynamic_axes,
            opset_version=settings.opset,
            do_constant_folding=True,
        )


def _fuse(model_dir: Path, source: Path, out_file: Path, settings: ExportSettings) -> None:
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    options = FusionOptions("bert")
    options.use_multi_head_attention = settings.attention_op == "MultiHeadAttention"
    if not settings.attention_mask:
        options.disable_attention_mask()
    optimised = optimize_model(
        str(source),
        model_type="bert",
        num_heads=int(config["num_attention_heads"]),
        hidden_size=int(config["hidden_size"]),
        optimization_options=options,
        opt_level=settings.fusion_opt_level,
    )
    # An unfused block still computes the right thing, only several times slower: a transformers or
    # ONNX Runtime release whose fusion no longer matches this model must fail loudly, not quietly.
    layers = int(config["num_hidden_layers"])
    fused = optimised.get_fused_operator_statistics().get(settings.attention_op, 0)
    if fused != layers:
        raise RuntimeError(f"attention fusion matched {fused} of {layers} layers")
    if settings.layer_norm == "decomposed" and decompose_skip_layer_norms(optimised.model) != 2 * layers:
        raise RuntimeError("SkipLayerNormalization fusion did not match every residual connection")
    optimised.save_model_to_file(str(out_file))


def _quantise(source: Path, out_file: Path, settings: ExportSettings) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source), load_external_data=False).graph
    excluded = [n.name for n in graph.node if any(re.search(p, n.name) for p in settings.keep_float32)]
    quantize_dynamic(
        str(source),
        str(out_file),
        weight_type=QuantType[settings.weight_type],
        per_channel=settings.per_channel,
        op_types_to_quantize=list(settings.quantised_ops),
        nodes_to_exclude=excluded,
        # Shape inference cannot type the outputs of the fused contrib ops (Attention, SkipLayerNorm);
        # they are all float32.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
