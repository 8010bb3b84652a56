import Pointwise

// A MobileNet-style pointwise layer on a batch of two NCHW images, as PyTorch would hand them over.
let nchw = try Tensor(randomUniform: [2, 64, 14, 14], seed: 1)          // [N, C, H, W]
let x = try Tensor(nchw: nchw)                                           // -> [N, H, W, C], Pointwise's layout

// PyTorch-layout weights [Cout, Cin, KH, KW] and bias [Cout]; packed once here.
let weight = try Tensor(randomUniform: [128, 64, 1, 1], in: -0.125...0.125, seed: 2)
let bias = try Tensor(randomUniform: [128], in: -0.125...0.125, seed: 3)
let pointwise = try Conv2D(inChannels: 64, outChannels: 128, kernel: 1, weight: weight, bias: bias)

// A 3x3, stride 2 convolution after it (im2col + SGEMM).
let downsample = try Conv2D(inChannels: 128, outChannels: 128, kernel: 3, stride: 2, padding: 1, seed: 4)

let y = try downsample(pointwise(x))
print("input \(x.shape) -> 1x1: \(try pointwise.loweredGEMM(forInput: x.shape))")
print("output \(y.shape) (NHWC), back to NCHW: \(try y.nchw().shape)")

// Check the first layer against the naive reference.
let error = try Reference.normalizedError(pointwise(x), Reference.conv2D(x, weight: weight, bias: bias))
print("1x1 layer vs naive reference: normalised error \(error)")
guard error <= 1e-4 else { fatalError("unexpected error \(error)") }

// Bad input is a thrown error naming the shapes, not a crash.
do {
    _ = try pointwise(Tensor(zeros: [1, 14, 14, 32]))
} catch {
    print("wrong channel count: \(error)")
}

// Your own DAG with the graph builder: NCHW semantics, PyTorch-layout weights. A residual
// block with two outputs; the passes fold the BatchNorm, fuse the ReLUs, and turn the Add into
// the second convolution's accumulation (GEMM beta = 1).
let builder = GraphBuilder(name: "my-block")
let input = builder.input("image", shape: [.symbolic("N"), 16, 32, 32])         // NCHW, any batch
let stem = builder.relu(try builder.conv(input, weight: try Tensor(randomUniform: [16, 16, 3, 3], in: -0.1...0.1, seed: 5),
                                         padding: 1, name: "stem"), name: "stem.relu")
let branch = try builder.conv(stem, weight: try Tensor(randomUniform: [16, 16, 1, 1], in: -0.2...0.2, seed: 6), name: "branch")
let statistics = try BatchNormParameters(weight: Array(repeating: 1, count: 16), bias: Array(repeating: 0.1, count: 16),
                                         runningMean: Array(repeating: 0, count: 16), runningVar: Array(repeating: 1, count: 16))
let normalized = try builder.batchNorm(branch, statistics, name: "branch.bn")
let block = builder.relu(builder.add(normalized, stem, name: "residual"), name: "out")
builder.output(block)
builder.output(builder.globalAveragePool(block, name: "pooled"))
let graph = try builder.build()

let session = try InferenceSession(graph)                 // thread-safe; plans cached per input shape
let outputs = try session.run(["image": .float32(try Tensor(randomUniform: [2, 16, 32, 32], seed: 7))])
print("outputs: " + outputs.keys.sorted().map { "\($0) \(outputs[$0]!.shape)" }.joined(separator: ", "))
let plan = try session.plan(inputShapes: [[2, 16, 32, 32]])
print("after the passes: " + plan.graph.nodes.map { "\($0.name) (\($0.op.typeName)" + ($0.fusedNodes.isEmpty ? ")" : " + \($0.fusedNodes.joined(separator: ", ")))") }.joined(separator: "; "))
print("arena: \(plan.memory.arenaBytes) bytes for \(plan.graph.nodes.count) steps")

// The same graph, checked against the reference interpreter (naive loops in Double).
let reference = try ReferenceInterpreter.run(graph, inputs: ["image": .float32(try Tensor(randomUniform: [2, 16, 32, 32], seed: 7))])
let dagError = try Reference.normalizedError(outputs["out"]!.floatTensor!, reference["out"]!.floatTensor!)
print("DAG vs reference interpreter: normalised error \(dagError)")
guard dagError <= 1e-4 else { fatalError("unexpected error \(dagError)") }
