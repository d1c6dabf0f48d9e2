"""ONNX export and deterministic post-processing.

Graphs are traced with export_params=False (no weight copies inside torch's exporter); the
live module's parameters are then bound as initializers, Linear weights pre-transposed, the
tied LM head turned into Gemm(transB=1), and the contract dims written onto the I/O.

Every graph keeps its weights in an external file `<group>.weights`; graphs of one group
(the three LM graphs; text encoder + token embedding) share a single file, with each
distinct tensor stored once. That keeps the tied 217,204-row LM embedding on disk once for
prefill, decode and the Loop graph.
"""

import hashlib
import inspect
import os
import tempfile

import onnx
import torch
from onnx import numpy_helper

from .config import OPSET

ALIGN = 64
MIN_EXTERNAL_BYTES = 1024


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _dynamic_axes(spec):
    axes = {}
    for t in spec.inputs + spec.outputs:
        named = {i: d for i, d in enumerate(t.dims) if isinstance(d, str)}
        if named:
            axes[t.name] = named
    return axes


# torch >= 2.9 defaults torch.onnx.export to its dynamo exporter; the graphs (and their audited
# numbers) come from the TorchScript exporter that torch 1.13 has, so newer torch is asked for it.
_TORCHSCRIPT_EXPORTER = (
    {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
)


def export_graph(spec, module, example):
    """Trace/script `module` into a contract-shaped ModelProto with initializers bound."""
    # Without parameters the traced graph is small, so a temporary file is only a buffer.
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        path = os.path.join(tmp, "graph.onnx")
        torch.onnx.export(
            module,
            example,
            path,
            input_names=[t.name for t in spec.inputs],
            output_names=[t.name for t in spec.outputs],
            dynamic_axes=_dynamic_axes(spec),
            opset_version=OPSET,
            # Parameters stay graph inputs named by their module path and are bound below from
            # the live module: no folded copies of the weights inside torch's exporter, so peak
            # memory is about two copies of one component. ORT folds the remaining
            # weight-only subgraphs (Linear transposes) once at session creation.
            export_params=False,
            do_constant_folding=False,
            **_TORCHSCRIPT_EXPORTER,
        )
        model = onnx.load(path)
    _bind_parameters(model, module, spec)
    _tidy(model, spec.name)
    _set_io_shapes(model, spec)
    return model


def _bind_parameters(model, module, spec):
    """Turn the parameter inputs of an export_params=False graph into initializers."""
    own = dict(module.named_parameters())
    own.update(dict(module.named_buffers()))
    contract = {t.name for t in spec.inputs}
    keep = []
    for value in model.graph.input:
        if value.name in contract:
            keep.append(value)
            continue
        if value.name not in own:
            raise SystemExit(f"{spec.name}: graph input {value.name} is neither a contract input nor a parameter")
        arr = own[value.name].detach().cpu().contiguous().numpy()
        model.graph.initializer.append(numpy_helper.from_array(arr, value.name))
    del model.graph.input[:]
    model.graph.input.extend(keep)


def _graphs(graph):
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(attr.g)
            for sub in attr.graphs:
                yield from _graphs(sub)


def _set_io_shapes(model, spec):
    """Write the contract dims (ints and symbolic names) onto the graph inputs/outputs, so
    what ORT reports in inputMetadata/outputMetadata is exactly the manifest."""
    for values, specs in ((model.graph.input, spec.inputs), (model.graph.output, spec.outputs)):
        by_name = {t.name: t for t in specs}
        for v in values:
            t = by_name.get(v.name)
            if t is None:
                continue
            shape = v.type.tensor_type.shape
            del shape.dim[:]
            for d in t.dims:
                dim = shape.dim.add()
                if isinstance(d, str):
                    dim.dim_param = d
                else:
                    dim.dim_value = d


def _tidy(model, name):
    """Fixed metadata, no doc strings, no stale intermediate shapes, tied lm_head as Gemm."""
    model.producer_name = "acestep-export"
    model.producer_version = "1"
    model.doc_string = ""
    model.graph.name = name
    for g in _graphs(model.graph):
        g.doc_string = ""
        del g.value_info[:]
        for node in g.node:
            node.doc_string = ""
    _untranspose_tied_head(model.graph)
    _fold_weight_transposes(model.graph)


def _untranspose_tied_head(graph):
    """The tied LM head exports as MatMul(h, Transpose(E)) with E also feeding the embedding
    Gather. Rewrite it to Gemm(h, E, transB=1) (h is 2-D: last position only) so neither the
    file nor ORT's load-time constant folding makes a transposed copy of the 217,204-row table."""
    inits = {t.name for t in graph.initializer}
    gathered = {n.input[0] for g in _graphs(graph) for n in g.node if n.op_type == "Gather"} & inits
    producers = {}
    for g in _graphs(graph):
        for n in g.node:
            for o in n.output:
                producers[o] = n
    dead = set()
    for g in _graphs(graph):
        for node in g.node:
            if node.op_type != "MatMul":
                continue
            tr = producers.get(node.input[1])
            if tr is None or tr.op_type != "Transpose" or tr.input[0] not in gathered:
                continue
            node.op_type = "Gemm"
            node.input[1] = tr.input[0]
            node.attribute.append(onnx.helper.make_attribute("transB", 1))
            dead.add(tr.output[0])  # SSA: an output name identifies its node
    used = {i for g in _graphs(graph) for n in g.node for i in n.input}
    for g in _graphs(graph):
        keep = [n for n in g.node if not (n.op_type == "Transpose" and n.output[0] in dead and n.output[0] not in used)]
        del g.node[:]
        g.node.extend(keep)
    used = {i for g in _graphs(graph) for n in g.node for i in n.input}
    keep = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)


def _fold_weight_transposes(graph):
    """Pre-transpose weights that only feed a Transpose (every nn.Linear exports as
    MatMul(x, Transpose(W)) without torch's constant folding). Doing it here, one tensor at a
    time, keeps export memory low and spares ORT a second copy of each weight at load."""
    inits = {t.name: t for t in graph.initializer}
    users = {}
    for g in _graphs(graph):
        for n in g.node:
            for i in n.input:
                users[i] = users.get(i, 0) + 1
    folded = set()
    for g in _graphs(graph):
        for n in g.node:
            if n.op_type != "Transpose" or n.input[0] not in inits or users.get(n.input[0]) != 1:
                continue
            perm = [a.ints for a in n.attribute if a.name == "perm"]
            arr = numpy_helper.to_array(inits[n.input[0]])
            arr = arr.transpose(list(perm[0]) if perm else None)
            graph.initializer.append(numpy_helper.from_array(arr.copy(), n.output[0]))
            folded.add(n.output[0])  # SSA: an output name identifies its node
    for g in _graphs(graph):
        keep = [n for n in g.node if not (n.op_type == "Transpose" and n.output[0] in folded)]
        del g.node[:]
        g.node.extend(keep)
    used = {i for g in _graphs(graph) for n in g.node for i in n.input}
    keep = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)


def _raw_bytes(t):
    return t.raw_data if t.HasField("raw_data") else numpy_helper.to_array(t).tobytes()


class WeightsFile:
    """One weights file shared by the graphs of a group; each distinct tensor is written once.
    Graphs are externalized and saved one at a time, so only one graph's weights are in memory."""

    def __init__(self, out_dir, name):
        self.out_dir, self.name = out_dir, name
        self.path = os.path.join(out_dir, name)
        self.file = open(self.path, "wb")
        self.offsets = {}

    def add_graph(self, model, onnx_file):
        for t in model.graph.initializer:
            raw = _raw_bytes(t)
            size = len(raw)
            if size < MIN_EXTERNAL_BYTES:
                continue
            key = hashlib.sha256(raw).hexdigest()
            if key not in self.offsets:
                self.file.write(b"\0" * ((-self.file.tell()) % ALIGN))
                self.offsets[key] = self.file.tell()
                self.file.write(raw)
            del raw
            for field in ("raw_data", "float_data", "int64_data", "int32_data"):
                t.ClearField(field)
            t.data_location = onnx.TensorProto.EXTERNAL
            del t.external_data[:]
            for k, v in (("location", self.name), ("offset", str(self.offsets[key])), ("length", str(size))):
                e = t.external_data.add()
                e.key, e.value = k, v
        path = os.path.join(self.out_dir, onnx_file)
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        return path

    def close(self):
        self.file.close()
        return self.path
