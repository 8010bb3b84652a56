#!/usr/bin/env python3
"""Which of ONNX's backend conformance cases fall in Pointwise's op set, and how
ONNX Runtime does on exactly those.

Usage:
    Scripts/install-onnx-python.sh          # once: venv .venv-onnx with onnx==1.22.0, onnxruntime, numpy
    Scripts/fetch-onnx-test-data.sh         # once: the wheel's test data into .onnx-data/backend
    .venv-onnx/bin/python Scripts/onnx_conformance_cases.py
        [--data DIR] [--kinds node,pytorch-converted,pytorch-operator,simple]
        [--ops Conv,Relu,...] [--helpers Constant,Shape,...]
        [--rule engine|dtype] [--json FILE] [--ort [--ort-json FILE]] [--light]

Reads every DIR/KIND/CASE/model.onnx (DIR defaults to <repo>/.onnx-data/backend) with
the `onnx` package (only this script uses Python; the Swift engine parses ONNX itself).

Counting rule (what "a case in scope" means):
  1. Ops. Every node of the graph, including nodes inside subgraphs (If/Loop/Scan
     bodies), is looked at. A case is a candidate when every node is in the ai.onnx
     domain ("" or "ai.onnx"), every op type is in --ops or --helpers, and at least one
     op type is in --ops: helpers (Constant, Shape, Gather, Cast, Slice,
     ConstantOfShape, Sub, Div by default, which an importer folds at plan time) may
     appear, but a case of helpers only is not counted. A node calling a model-local
     function, or any other domain, makes the case out of scope.
  2. A candidate is in scope unless one of these holds (all that hold are listed):
     - dtype: a graph input or output, an initializer, a Constant's value, or an
       intermediate value (after onnx shape inference) is not float32 or int64
       (float16, double, int8, uint8, int16, int32, bool, ...), or is not a tensor
       at all (sequence, optional);
     - rank: Conv, ConvTranspose, MaxPool, AveragePool, LRN, GlobalAveragePool,
       GlobalMaxPool or BatchNormalization gets an input of rank other than 4
       (1-D or 3-D convolution/pooling, BatchNorm1d/3d);
     - training: BatchNormalization with training_mode=1 or more than one output
       that is read (running mean/var); Dropout with a mask output that is read or
       a training_mode input (the engine does inference only). "Read" means a graph
       output or another node's input: the unused optional mask of an old Dropout
       (as in the light models) does not count;
     - indices: MaxPool's second output (Indices), if read;
     - pad mode: Pad with mode "wrap" (constant, reflect and edge are in scope).
     Opset versions are recorded but never make a case out of scope.
  Each case counts once in the total and once for every op of --ops it uses.
  That is the "engine" rule (--rule engine, the default). The "dtype" rule (--rule
  dtype) drops only the cases with a non-float32/int64 dtype (bool Dropout masks and
  training_mode inputs included) and keeps the rank, training, indices and pad-mode
  ones: it gives 239 cases for the default op set, the count in the ONNX import issue
  (ONNX Runtime 1.32 passes 223 of them). Both counts are always printed.

Prints, per op of --ops: the cases in scope that use it under each rule, the
candidates that use it, and why the others are out; then the totals, and the
out-of-scope candidates with their reasons. --json FILE (default
/tmp/onnx-conformance-cases.json) gets one entry per case of every kind read:
    {"path", "kind", "name", "ops", "other_domain_ops", "opset", "candidate",
     "in_scope", "in_scope_engine_rule", "in_scope_dtype_rule", "reason", "reasons",
     "data_sets"}
(in_scope follows --rule; reason is null for a case in scope, else what puts it out
under --rule; reasons lists every reason found, whatever the rule).

--ort runs ONNX Runtime (CPU execution provider, default options) on exactly the
in-scope cases: each test_data_set_*/input_K.pb is fed to the K-th graph input that
is not an initializer, and each output_K.pb is compared with the K-th output as
onnx's backend runner does: same shape, same dtype, then
numpy.testing.assert_allclose(actual, expected, rtol=1e-3, atol=1e-7) (a case's
data.json may override rtol/atol, as in onnx's loader; none in 1.22.0 does).
A case passes when every data set passes; a failure to load or run is a failure.
Writes per-case results to --ort-json (default /tmp/ort-conformance.json):
    {"onnxruntime_version", "onnx_version", "numpy_version", "rtol", "atol", "rule",
     "passed", "in_scope", "cases": [{"path", "ops", "opset", "passed", "error", "seconds"}],
     "light": [...] with --light}
and prints "ONNX Runtime V ...: passed P / in scope N", the per-op pass counts, and
each failure with its error.

--light also looks at DIR/light/light_NAME.onnx (models with their weights replaced
by ConstantOfShape stand-ins; no input files: onnx's runner feeds
arange(n)/n reshaped to the input's shape and compares with
light_NAME_output_0.pb), says which are in scope, and with --ort runs them the same
way. They are reported separately and never added to the totals above.

Exit status: 0 on success (ORT failures are results, not errors); 1 if the data
folder is missing or a model cannot be parsed; 2 for bad arguments.
"""

import argparse
import collections
import glob
import json
import os
import sys
import time
from pathlib import Path

try:
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper, shape_inference
except ImportError as error:  # fail loudly: this script needs the venv
    sys.exit(f"onnx_conformance_cases.py: {error}. Run Scripts/install-onnx-python.sh and use "
             ".venv-onnx/bin/python (onnx==1.22.0, onnxruntime, numpy).")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / ".onnx-data" / "backend"
DEFAULT_KINDS = ("node", "pytorch-converted", "pytorch-operator", "simple")

# The engine's op set (issue: graph core) and the helpers an importer folds at plan time.
SCOPE_OPS = (
    "Conv", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid",
    "HardSwish", "Add", "Mul", "Sum", "MaxPool", "AveragePool", "GlobalAveragePool",
    "GlobalMaxPool", "LRN", "Concat", "Flatten", "Reshape", "Transpose", "Unsqueeze",
    "Squeeze", "Identity", "Dropout", "Pad", "Gemm", "MatMul", "Softmax",
)
HELPER_OPS = ("Constant", "Shape", "Gather", "Cast", "Slice", "ConstantOfShape", "Sub", "Div")

ALLOWED_DTYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.INT64}
SPATIAL_OPS = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LRN",
               "GlobalAveragePool", "GlobalMaxPool", "BatchNormalization"}
PAD_MODES_IN_SCOPE = {"constant", "reflect", "edge"}
RTOL, ATOL = 1e-3, 1e-7


def dtype_name(elem_type):
    return onnx.TensorProto.DataType.Name(elem_type).lower() if elem_type else "undefined"


def all_nodes(graph):
    """Every node of the graph and of its subgraphs (If/Loop/Scan bodies)."""
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from all_nodes(attribute.g)
            for subgraph in attribute.graphs:
                yield from all_nodes(subgraph)


def is_onnx_domain(domain):
    return domain in ("", "ai.onnx")


def attributes(node):
    values = {}
    for attribute in node.attribute:
        value = helper.get_attribute_value(attribute)
        values[attribute.name] = value.decode() if isinstance(value, bytes) else value
    return values


def value_types(model):
    """name -> TypeProto for graph inputs, outputs and inferred intermediates."""
    try:
        inferred = shape_inference.infer_shapes(model)
    except Exception:  # a model onnx cannot infer: fall back on what it declares
        inferred = model
    types = {}
    for value in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        types[value.name] = value.type
    for initializer in model.graph.initializer:
        types[initializer.name] = helper.make_tensor_type_proto(initializer.data_type, list(initializer.dims))
    return types


def rank_of(type_proto):
    if type_proto is None or not type_proto.HasField("tensor_type"):
        return None
    tensor = type_proto.tensor_type
    return len(tensor.shape.dim) if tensor.HasField("shape") else None


def classify(model, scope_ops, helper_ops):
    """(ops, other_domain_ops, candidate, reasons) for one model."""
    local_functions = {(f.domain, f.name) for f in model.functions}
    ops, other = set(), set()
    for node in all_nodes(model.graph):
        if (node.domain, node.op_type) in local_functions:
            other.add(f"{node.domain or 'ai.onnx'}:{node.op_type} (model-local function)")
        elif is_onnx_domain(node.domain):
            ops.add(node.op_type)
        else:
            other.add(f"{node.domain}:{node.op_type}")
    reasons = []
    outside = sorted(ops - set(scope_ops) - set(helper_ops))
    if other:
        reasons.append("ops of another domain: " + ", ".join(sorted(other)))
    if outside:
        reasons.append("ops outside the list: " + ", ".join(outside))
    if not reasons and not ops & set(scope_ops):
        reasons.append("helper ops only: " + ", ".join(sorted(ops)) if ops else "no nodes")
    candidate = not reasons
    if not candidate:
        return ops, other, False, reasons

    types = value_types(model)
    # dtypes: graph inputs/outputs, intermediates, initializers, Constant values.
    bad = collections.OrderedDict()
    for value in list(model.graph.input) + list(model.graph.output):
        if not value.type.HasField("tensor_type"):
            bad[f"{value.type.WhichOneof('value') or 'untyped'} (not a tensor)"] = value.name
        elif value.type.tensor_type.elem_type not in ALLOWED_DTYPES:
            bad[dtype_name(value.type.tensor_type.elem_type)] = value.name
    # values something reads (a node input or a graph output): an unused optional
    # output (an old Dropout's mask nobody reads) does not count
    used = {name for node in all_nodes(model.graph) for name in node.input if name}
    used |= {value.name for value in model.graph.output}
    for name, type_proto in types.items():
        if name in used and type_proto.HasField("tensor_type") \
                and type_proto.tensor_type.elem_type not in ALLOWED_DTYPES:
            bad.setdefault(dtype_name(type_proto.tensor_type.elem_type), name)
    for node in all_nodes(model.graph):
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.TENSOR and attribute.t.data_type not in ALLOWED_DTYPES:
                bad.setdefault(dtype_name(attribute.t.data_type), f"{node.op_type}.{attribute.name}")
    if bad:
        reasons.append("dtype not float32/int64: " + ", ".join(f"{t} ({where})" for t, where in bad.items()))

    for node in all_nodes(model.graph):
        attrs = attributes(node)
        outputs = [o for o in node.output if o]
        used_outputs = [o for o in outputs if o in used]
        inputs = [i for i in node.input if i]
        if node.op_type in SPATIAL_OPS and node.input:
            rank = rank_of(types.get(node.input[0]))
            if rank is not None and rank != 4:
                what = {3: "1-D", 5: "3-D"}.get(rank, f"rank-{rank}")
                reasons.append(f"{node.op_type} on a rank-{rank} input ({what}, not NCHW 2-D)")
        if node.op_type == "BatchNormalization" and (attrs.get("training_mode", 0) or len(used_outputs) > 1):
            reasons.append(f"training-mode BatchNormalization ({len(outputs)} outputs)")
        if node.op_type == "Dropout":
            if len(used_outputs) > 1:
                reasons.append("Dropout mask output")
            if len(inputs) > 2:
                reasons.append("Dropout training_mode input")
        if node.op_type == "MaxPool" and len(used_outputs) > 1:
            reasons.append("MaxPool Indices output")
        if node.op_type == "Pad" and attrs.get("mode", "constant") not in PAD_MODES_IN_SCOPE:
            reasons.append(f"Pad mode {attrs['mode']}")
    # one entry per distinct reason, in first-seen order
    return ops, other, True, list(dict.fromkeys(reasons))


def opset_of(model):
    return max((o.version for o in model.opset_import if is_onnx_domain(o.domain)), default=None)


def read_cases(data, kinds, scope_ops, helper_ops, rule):
    cases = []
    for kind in kinds:
        folder = data / kind
        if not folder.is_dir():
            sys.exit(f"onnx_conformance_cases.py: no folder {folder} (run Scripts/fetch-onnx-test-data.sh)")
        for case_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            model_path = case_dir / "model.onnx"
            if not model_path.exists():
                continue  # a case whose model is downloaded from a URL (data.json only)
            try:
                model = onnx.load(str(model_path))
            except Exception as error:
                sys.exit(f"onnx_conformance_cases.py: cannot parse {model_path}: {error}")
            ops, other, candidate, reasons = classify(model, scope_ops, helper_ops)
            tolerances = {}
            if (case_dir / "data.json").exists():
                tolerances = {k: v for k, v in json.loads((case_dir / "data.json").read_text()).items()
                              if k in ("rtol", "atol")}
            cases.append(decide({
                "path": str(case_dir.relative_to(data)),
                "kind": kind,
                "name": case_dir.name,
                "ops": sorted(ops),
                "other_domain_ops": sorted(other),
                "opset": opset_of(model),
                "candidate": candidate,
                "data_sets": len(list(case_dir.glob("test_data_set_*"))),
                **tolerances,
            }, reasons, rule))
    return cases


def read_light_cases(data, scope_ops, helper_ops, rule):
    cases = []
    for model_path in sorted((data / "light").glob("light_*.onnx")):
        model = onnx.load(str(model_path))
        ops, other, candidate, reasons = classify(model, scope_ops, helper_ops)
        cases.append(decide({
            "path": str(model_path.relative_to(data)), "kind": "light",
            "name": model_path.stem, "ops": sorted(ops), "other_domain_ops": sorted(other),
            "opset": opset_of(model), "candidate": candidate,
            "nodes": len(model.graph.node),
            "initializer_bytes": sum(len(i.raw_data) + 4 * len(i.float_data) + 8 * len(i.int64_data)
                                     for i in model.graph.initializer),
            "file_bytes": model_path.stat().st_size,
        }, reasons, rule))
    return cases


def reason_category(reason):
    for prefix, category in (("dtype", "dtype"), ("training-mode", "training"), ("Dropout", "training"),
                             ("MaxPool Indices", "indices"), ("Pad mode", "pad mode")):
        if reason.startswith(prefix):
            return category
    return "rank" if " on a rank-" in reason else reason


def excluding(reasons, rule):
    """The reasons that put a candidate out of scope under a rule: "engine", every
    reason; "dtype", only the dtype ones (the rule that gives the issue's 239)."""
    return [r for r in reasons if rule == "engine" or reason_category(r) == "dtype"]


def decide(case, reasons, rule):
    """Fills in_scope / reason for the rule, and both rules' verdicts."""
    candidate = case["candidate"]
    case["in_scope_engine_rule"] = candidate and not excluding(reasons, "engine")
    case["in_scope_dtype_rule"] = candidate and not excluding(reasons, "dtype")
    case["in_scope"] = case[f"in_scope_{rule}_rule"]
    why = reasons if not candidate else excluding(reasons, rule)
    case["reason"] = "; ".join(why) if why else None
    case["reasons"] = reasons
    return case


def print_summary(cases, scope_ops, rule):
    candidates = [c for c in cases if c["candidate"]]
    engine = [c for c in candidates if c["in_scope_engine_rule"]]
    dtype = [c for c in candidates if c["in_scope_dtype_rule"]]
    print(f"{len(cases)} cases read; {len(candidates)} candidates (only listed ops, at least one of the op set); "
          f"in scope: {len(engine)} by the engine rule, {len(dtype)} by the dtype-only rule "
          f"(--rule {rule} is used for --json and --ort)\n")
    print("engine rule: every reason below puts a candidate out; dtype rule: only non-float32/int64 dtypes do")
    print(f"{'op':20s} {'engine':>6s} {'dtype':>6s} {'cand.':>6s}  why candidates are out (engine rule; "
          "cases with that reason)")
    sums = [0, 0]
    for op in scope_ops:
        using = [c for c in candidates if op in c["ops"]]
        good = sum(c["in_scope_engine_rule"] for c in using)
        good_dtype = sum(c["in_scope_dtype_rule"] for c in using)
        sums[0] += good
        sums[1] += good_dtype
        why = collections.Counter(category for c in using if not c["in_scope_engine_rule"]
                                  for category in dict.fromkeys(reason_category(r) for r in c["reasons"]))
        detail = ", ".join(f"{k} {v}" for k, v in why.most_common())
        print(f"{op:20s} {good:6d} {good_dtype:6d} {len(using):6d}  {detail}")
    print(f"{'total (cases)':20s} {len(engine):6d} {len(dtype):6d} {len(candidates):6d}")
    print(f"{'sum of per-op counts':20s} {sums[0]:6d} {sums[1]:6d}   (a case counts for every op it uses)")
    for name, chosen in (("engine", engine), ("dtype", dtype)):
        by_kind = collections.Counter(c["kind"] for c in chosen)
        print(f"{name} rule, in scope by folder: " + ", ".join(f"{k} {v}" for k, v in by_kind.items()))
    print("\ncandidates out of scope by the engine rule (* = in scope by the dtype rule):")
    for c in candidates:
        if not c["in_scope_engine_rule"]:
            print(f"  {'*' if c['in_scope_dtype_rule'] else ' '} {c['path']:60s} {'; '.join(c['reasons'])}")


def load_tensor(path):
    tensor = onnx.TensorProto()
    tensor.ParseFromString(Path(path).read_bytes())
    return numpy_helper.to_array(tensor)


def compare(expected, actual, rtol, atol):
    if len(expected) != len(actual):
        raise AssertionError(f"{len(actual)} outputs, expected {len(expected)}")
    for k, (e, a) in enumerate(zip(expected, actual)):
        a = np.asarray(a)
        if a.shape != e.shape:
            raise AssertionError(f"output {k}: shape {a.shape}, expected {e.shape}")
        if a.dtype != e.dtype:
            raise AssertionError(f"output {k}: dtype {a.dtype}, expected {e.dtype}")
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=f"output {k}")


def first_line(error):
    text = f"{type(error).__name__}: {error}".strip()
    lines = [line for line in text.splitlines() if line.strip()]
    # keep the assert_allclose header and its mismatch / max-difference lines
    keep = [line.strip() for line in lines if "Mismatch" in line or "Max abs" in line or "Max rel" in line]
    return " | ".join(([lines[0]] if lines else []) + keep)[:600]


def run_ort_case(ort, model_path, data_sets):
    """Runs one case; returns None on success or the error text."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    input_names = [i.name for i in session.get_inputs()]
    for inputs, expected, rtol, atol in data_sets:
        if len(inputs) > len(input_names):
            raise AssertionError(f"{len(inputs)} input files but the session takes {len(input_names)} inputs")
        feeds = dict(zip(input_names, inputs))
        actual = session.run(None, feeds)
        compare(expected, actual, rtol, atol)


def case_data_sets(case_dir, rtol, atol):
    sets = []
    for data_set in sorted(glob.glob(str(case_dir / "test_data_set_*"))):
        count_in = len(glob.glob(os.path.join(data_set, "input_*.pb")))
        count_out = len(glob.glob(os.path.join(data_set, "output_*.pb")))
        inputs = [load_tensor(os.path.join(data_set, f"input_{k}.pb")) for k in range(count_in)]
        outputs = [load_tensor(os.path.join(data_set, f"output_{k}.pb")) for k in range(count_out)]
        sets.append((inputs, outputs, rtol, atol))
    return sets


def light_data_sets(model_path):
    """onnx's runner for light models: input = arange(n)/n in the input's shape (unknown dims 1)."""
    model = onnx.load(str(model_path))
    initializers = {i.name for i in model.graph.initializer}
    inputs = []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in value.type.tensor_type.shape.dim)
        n = int(np.prod(shape))
        inputs.append((np.arange(n).reshape(shape) / n).astype(np.float32))
    prefix = str(model_path)[:-len(".onnx")]
    outputs = [load_tensor(f"{prefix}_output_{k}.pb") for k in range(len(model.graph.output))]
    return [(inputs, outputs, RTOL, ATOL)]


def run_ort(cases, data, ort_json, light_cases, rule):
    try:
        import onnxruntime as ort
    except ImportError:
        sys.exit("onnx_conformance_cases.py: onnxruntime is not installed in this interpreter "
                 "(run Scripts/install-onnx-python.sh and use .venv-onnx/bin/python)")
    results = []
    for case in cases:
        if not case["in_scope"]:
            continue
        case_dir = data / case["path"]
        rtol, atol = case.get("rtol", RTOL), case.get("atol", ATOL)
        start = time.perf_counter()
        try:
            run_ort_case(ort, case_dir / "model.onnx", case_data_sets(case_dir, rtol, atol))
            error = None
        except Exception as exc:  # load, run or compare: all count as a failure
            error = first_line(exc)
        results.append({"path": case["path"], "ops": case["ops"], "opset": case["opset"], "passed": error is None,
                        "error": error, "seconds": round(time.perf_counter() - start, 4)})
    light_results = []
    for case in light_cases:
        start = time.perf_counter()
        try:
            model_path = data / case["path"]
            run_ort_case(ort, model_path, light_data_sets(model_path))
            error = None
        except Exception as exc:
            error = first_line(exc)
        light_results.append({"path": case["path"], "in_scope": case["in_scope"], "ops": case["ops"],
                              "passed": error is None, "error": error,
                              "seconds": round(time.perf_counter() - start, 4)})
    passed = sum(r["passed"] for r in results)
    report = {
        "onnxruntime_version": ort.__version__, "onnx_version": onnx.__version__,
        "numpy_version": np.__version__, "rtol": RTOL, "atol": ATOL,
        "rule": rule, "passed": passed, "in_scope": len(results), "cases": results,
    }
    if light_cases:
        report["light"] = light_results
    Path(ort_json).write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nONNX Runtime {ort.__version__} (CPU EP), {rule} rule, assert_allclose rtol={RTOL} atol={ATOL}: "
          f"passed {passed} / in scope {len(results)}")
    by_op = collections.defaultdict(lambda: [0, 0])
    for r in results:
        for op in r["ops"]:
            by_op[op][0] += r["passed"]
            by_op[op][1] += 1
    print("  per op (passed/in scope): " + ", ".join(f"{op} {p}/{n}" for op, (p, n) in sorted(by_op.items())))
    for r in results:
        if not r["passed"]:
            print(f"  FAIL {r['path']}: {r['error']}")
    if light_results:
        ok = sum(r["passed"] for r in light_results if r["in_scope"])
        print(f"  light models in scope: passed {ok} / {sum(r['in_scope'] for r in light_results)}")
        for r in light_results:
            print(f"    {r['path']:35s} in_scope={r['in_scope']!s:5s} "
                  f"{'pass' if r['passed'] else 'FAIL ' + r['error']}")
    print(f"per-case results: {ort_json}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--kinds", default=",".join(DEFAULT_KINDS))
    parser.add_argument("--ops", default=",".join(SCOPE_OPS))
    parser.add_argument("--helpers", default=",".join(HELPER_OPS))
    parser.add_argument("--json", type=Path, default=Path("/tmp/onnx-conformance-cases.json"))
    parser.add_argument("--ort", action="store_true", help="run ONNX Runtime on the in-scope cases")
    parser.add_argument("--ort-json", type=Path, default=Path("/tmp/ort-conformance.json"))
    parser.add_argument("--light", action="store_true", help="also report the light/ models")
    parser.add_argument("--rule", choices=("engine", "dtype"), default="engine",
                        help="which cases are in scope for --json and --ort (see the counting rule above)")
    args = parser.parse_args()

    if not args.data.is_dir():
        sys.exit(f"onnx_conformance_cases.py: no test data at {args.data} (run Scripts/fetch-onnx-test-data.sh)")
    scope_ops = [op for op in args.ops.split(",") if op]
    helper_ops = [op for op in args.helpers.split(",") if op]
    kinds = [k for k in args.kinds.split(",") if k]

    cases = read_cases(args.data, kinds, scope_ops, helper_ops, args.rule)
    light_cases = read_light_cases(args.data, scope_ops, helper_ops, args.rule) if args.light else []
    print_summary(cases, scope_ops, args.rule)
    if light_cases:
        print("\nlight models (weights replaced by ConstantOfShape stand-ins; not in the totals):")
        for c in light_cases:
            print(f"  {c['name']:25s} {c['nodes']:4d} nodes, {c['file_bytes']:7d} bytes, "
                  f"in_scope={c['in_scope']!s:5s} {c['reason'] or ''}")
    args.json.write_text(json.dumps({"data": str(args.data), "rule": args.rule,
                                     "ops": scope_ops, "helpers": helper_ops,
                                     "cases": cases, "light": light_cases}, indent=1) + "\n")
    print(f"\ncase list: {args.json}")
    if args.ort:
        run_ort(cases, args.data, args.ort_json, light_cases, args.rule)


if __name__ == "__main__":
    main()
