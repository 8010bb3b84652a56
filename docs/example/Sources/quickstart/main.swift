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
