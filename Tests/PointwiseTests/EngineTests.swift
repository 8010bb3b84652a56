import Foundation
import Synchronization
import Testing
@testable import Pointwise

/// The compiled engine as a whole: random DAGs against the reference interpreter, several
/// inputs and outputs, plans cached by shape, many threads on one model, bad input.
@Suite("Graph engine")
struct EngineTests {
    /// A seeded random DAG of the CNN operators: convolutions of every kind (with and without
    /// BatchNorm and activations), residual and broadcast adds, pools, channel concats, pads,
    /// transposes, then a global pool, flatten and a linear head; batch 2, odd sizes.
    static func randomGraph(seed: UInt64) throws -> (Graph, [String: [Int]]) {
        var generator = SeededGenerator(seed: seed)
        func pick(_ n: Int) -> Int { Int(generator.next() % UInt64(n)) }
        let b = GraphBuilder(name: "random\(seed)")
        let inputShape = [2, 3 + pick(6), 5 + pick(6), 5 + pick(6)]
        var values: [(ValueID, [Int])] = [(b.input("x", shape: inputShape.map { .fixed($0) }), inputShape)]
        var counter = 0
        func name(_ base: String) -> String { counter += 1; return "\(base)\(counter)" }
        let activations: [Activation] = [.relu, .relu6, .sigmoid, .hardSwish, .leakyRelu(alpha: 0.1), .identity]
        for _ in 0..<(6 + pick(10)) {
            let (v, s) = values[pick(values.count)]
            switch pick(9) {
            case 0, 1, 2:  // convolution (+ BatchNorm) (+ activation)
                let (c, h, w) = (s[1], s[2], s[3])
                let kernel = [1, 1, 3, 3, 5][pick(5)], stride = 1 + pick(2), dilation = kernel > 1 && pick(4) == 0 ? 2 : 1
                let pad = (kernel - 1) / 2 * dilation
                let groups = [1, 1, c][pick(3)]
                let out = groups == c ? c * (1 + pick(2)) : 2 + pick(7)
                let extent = dilation * (kernel - 1) + 1
                guard h + 2 * pad >= extent, w + 2 * pad >= extent else { continue }
                var y = try b.conv(v, weight: weights([out, c / groups, kernel, kernel], seed: generator.next()),
                                   bias: pick(2) == 0 ? try weights([out], seed: generator.next()) : nil,
                                   stride: Size2D(stride), padding: Padding2D(pad), dilation: Size2D(dilation), groups: groups,
                                   name: name("conv"))
                if pick(2) == 0 { y = try b.batchNorm(y, RandomParameters(seed: generator.next()).batchNorm(name("bn"), channels: out, eps: 1e-5), name: name("bn")) }
                y = b.activation(y, activations[pick(activations.count)], name: name("act"))
                values.append((y, [s[0], out, (h + 2 * pad - extent) / stride + 1, (w + 2 * pad - extent) / stride + 1]))
            case 3:  // residual add with a value of the same shape, or a per-channel broadcast
                if let other = values.first(where: { $0.1 == s && $0.0 != v }) {
                    values.append((b.relu(b.add(v, other.0, name: name("add")), name: name("relu")), s))
                } else {
                    let bias = b.constant(name("bias"), try weights([1, s[1], 1, 1], seed: generator.next()))
                    values.append((b.mul(v, bias, name: name("mul")), s))
                }
            case 4:  // max or average pool
                let kernel = 2 + pick(2), stride = 1 + pick(2), pad = pick(2) * (kernel / 2), ceil = pick(2) == 0
                guard s[2] + 2 * pad >= kernel, s[3] + 2 * pad >= kernel else { continue }
                let y = b.pool(pick(2) == 0 ? .max : .average(countIncludePad: pick(2) == 0), v, kernel: Size2D(kernel),
                               stride: Size2D(stride), padding: Padding2D(pad), ceilMode: ceil, name: name("pool"))
                let size = { (n: Int) in
                    (try? WindowAxis(inputSize: n, kernel: kernel, stride: stride, dilation: 1, padBegin: pad, padEnd: pad,
                                     autoPad: .notSet, ceilMode: ceil, what: "pool").outputSize) ?? 0
                }
                values.append((y, [s[0], s[1], size(s[2]), size(s[3])]))
            case 5:  // channel concat of values with the same N, H, W
                let partners = values.filter { $0.1[0] == s[0] && $0.1[2] == s[2] && $0.1[3] == s[3] && $0.0 != v }
                guard let other = partners.first else { continue }
                values.append((b.concat([v, other.0], name: name("concat")), [s[0], s[1] + other.1[1], s[2], s[3]]))
            case 6:  // constant padding
                let pads = [0, 0, pick(2), pick(3), 0, 0, pick(3), pick(2)]
                let y = b.node(.pad(PadAttributes(mode: [.constant, .reflect, .edge][pick(3)], pads: pads, value: 0.5)), [v], name: name("pad"))[0]
                guard pads.indices.allSatisfy({ pads[$0] < s[$0 % 4] }) else { continue }
                values.append((y, [s[0], s[1], s[2] + pads[2] + pads[6], s[3] + pads[3] + pads[7]]))
            case 7:  // transpose H and W (natural layout), then an activation
                let t = b.node(.transpose(permutation: [0, 1, 3, 2]), [v], name: name("transpose"))[0]
                values.append((b.activation(t, .sigmoid, name: name("sigmoid")), [s[0], s[1], s[3], s[2]]))
            default:  // an unfolded BatchNorm with an activation
                let y = try b.batchNorm(v, RandomParameters(seed: generator.next()).batchNorm(name("bn"), channels: s[1], eps: 1e-3), name: name("bn"))
                values.append((b.activation(y, .relu, name: name("relu")), s))
            }
        }
        let (last, shape) = values[values.count - 1]
        let pooled = b.globalAveragePool(last, name: "pool")
        let flat = b.flatten(pooled, name: "flatten")
        b.output(b.linear(flat, weight: try weights([10, shape[1]], seed: generator.next()), bias: try weights([10], seed: 7), name: "fc"))
        // A second output: an intermediate value, which other nodes also read.
        if values.count > 2 { b.output(values[values.count / 2].0) }
        return (try b.build(), ["x": inputShape])
    }

    @Test("random DAGs agree with the reference interpreter, on one thread and two", arguments: 0..<40)
    func randomGraphs(seed: Int) throws {
        let (graph, shapes) = try Self.randomGraph(seed: UInt64(seed))
        let inputs = try randomInputs(graph, shapes: shapes, seed: UInt64(seed))
        ensureTwoThreads()
        for threads in [1, 2] {
            let error = try BLASRuntime.shared.withThreadLimit(threads) { try engineError(graph, inputs) }
            #expect(error <= float32Tolerance, "seed \(seed), \(threads) threads: \(graph.nodeList.joined(separator: "; "))")
        }
        let plan = try InferenceSession(graph).plan(inputShapes: [shapes["x"]!])
        #expect(plan.arenaConflicts().isEmpty, "seed \(seed): \(plan.arenaConflicts().prefix(2))")
        try plan.memory.validate()
    }

    @Test("4 threads × 50 forwards on one model give the serial result bit for bit")
    func concurrentCalls() throws {
        let network = try Network.build(.mobilenetV2, parameters: RandomParameters(seed: 5))
        let inputs = try (0..<4).map { try Tensor(randomUniform: [1, 96, 96, 3], seed: UInt64(10 + $0)) }
        let serial = try inputs.map { try network($0) }
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            do {
                var y = try Tensor(zeros: serial[thread].shape)
                for _ in 0..<50 {
                    try network.forward(inputs[thread], into: &y)
                    if y != serial[thread] { failures.withLock { $0 += 1 } }
                }
            } catch {
                failures.withLock { $0 += 1000 }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        let plan = try network.plan(forInput: [1, 96, 96, 3])
        #expect(plan.contextCount >= 1 && plan.contextCount <= 5, "one context per concurrent caller, reused")
    }

    @Test("shape A, then B, then A: each shape has its own plan, and A's results are the same")
    func shapeSwitching() throws {
        let block = try InvertedResidual(RandomParameters(seed: 6), prefix: "ir", inChannels: 16, outChannels: 16, stride: 1, expandRatio: 6)
        let a = try Tensor(randomUniform: [1, 9, 7, 16], seed: 1)
        let b = try Tensor(randomUniform: [3, 5, 11, 16], seed: 2)
        let first = try block(a)
        let other = try block(b)
        #expect(try block(a) == first)
        #expect(try block(b) == other)
        #expect(try block.session(inputRank: 4).planCount == 2)
        let reference = ReferenceComposer(parameters: RandomParameters(seed: 6))
        #expect(try Reference.normalizedError(other, reference.invertedResidual(b, prefix: "ir", inChannels: 16, outChannels: 16,
                                                                               stride: 1, expandRatio: 6)) <= float32Tolerance)
    }

    @Test("calling a block on its own with another shape never disturbs the network holding it (no shared state)")
    func sublayerThenNetwork() throws {
        let parameters = RandomParameters(seed: 8)
        let block = try Bottleneck(parameters, prefix: "b", inChannels: 16, width: 4)
        let network = Network(name: "tiny", layers: [block, GlobalAveragePool()], nominalInputShape: [1, 8, 8, 16])
        let x = try Tensor(randomUniform: [2, 8, 8, 16], seed: 1)
        let before = try network(x)
        _ = try block(Tensor(randomUniform: [1, 3, 5, 16], seed: 2))   // another shape, straight on the block
        #expect(try network(x) == before)
    }

    @Test("several inputs and outputs, by name; an int64 input becomes part of the plan")
    func namedInputsAndOutputs() throws {
        let b = GraphBuilder(name: "two")
        let x = b.input("x", shape: [.symbolic("N"), 3, 4, 4])
        let y = b.input("y", shape: [.symbolic("N"), 3, 4, 4])
        let shape = b.input("shape", shape: [2], dataType: .int64)
        let sum = b.add(x, y, name: "sum")
        b.output(sum)
        b.output(b.node(.reshape(allowZero: false), [sum, shape], name: "reshaped")[0])
        let graph = try b.build()
        let session = try InferenceSession(graph)
        let xv = try Tensor(randomUniform: [2, 3, 4, 4], seed: 1), yv = try Tensor(randomUniform: [2, 3, 4, 4], seed: 2)
        let outputs = try session.run(["x": .float32(xv), "y": .float32(yv), "shape": .int64(Int64Tensor([6, -1]))])
        #expect(outputs["sum"]?.floatTensor?.scalars == zip(xv.scalars, yv.scalars).map { $0 + $1 })
        #expect(outputs["reshaped"]?.floatTensor?.shape == [6, 16])
        let again = try session.run(["x": .float32(xv), "y": .float32(yv), "shape": .int64(Int64Tensor([2, -1]))])
        #expect(again["reshaped"]?.floatTensor?.shape == [2, 48])
        #expect(session.planCount == 2, "one plan per int64 value")
        expectError("input 'y' of 'two' must be given") { _ = try session.run(["x": .float32(xv)]) }
        expectError("dimension 'N' of input 'y'", "expected 2, got 3") {
            _ = try session.run(["x": .float32(xv), "y": .float32(try Tensor(zeros: [3, 3, 4, 4])), "shape": .int64(Int64Tensor([6, -1]))])
        }
        expectError("Reshape of [2, 3, 4, 4]", "to [5, -1]") {
            _ = try session.run(["x": .float32(xv), "y": .float32(yv), "shape": .int64(Int64Tensor([5, -1]))])
        }
    }

    @Test("a plan larger than the memory limit is an error before anything is allocated")
    func memoryLimit() throws {
        let conv = try Conv2D(inChannels: 3, outChannels: 64, kernel: 7, stride: 2, padding: 3, seed: 1)
        // The plan's arena holds the im2col workspace: 512 KiB tiles (kept in L2) per thread.
        let session = try InferenceSession(conv.graph(inputRank: 4), options: CompileOptions(memoryLimit: 1 << 18))
        expectError("the memory plan of", "more than the limit of 262144 bytes") { _ = try session(Tensor(zeros: [8, 224, 224, 3])) }
        let summary = try? runPointwise(["summary", "resnet50", "--batch", "100000"])
        #expect(summary?.contains("--batch must be in 1...65536, got 100000") == true, "\(summary ?? "")")
    }
}
