/// Parameters read from a PyTorch `state_dict` saved as safetensors, by name, in PyTorch
/// layouts (convolution weights OIHW, linear [out, in]).
///
/// Builders ask for every tensor they need; a missing or mis-shaped one is recorded and
/// replaced by zeros so that building goes on, then `finish()` throws one error listing
/// every missing, mis-shaped and unexpected tensor with its expected and actual shape.
/// `num_batches_tracked` entries (BatchNorm training state) are ignored.
public final class StateDictParameters: ParameterSource {
    public let file: SafeTensorsFile
    private var used: Set<String> = []
    private var problems: [String] = []

    public init(_ file: SafeTensorsFile) { self.file = file }

    public func tensor(_ name: String, shape: [Int], role: ParameterRole) throws -> Tensor {
        used.insert(name)
        guard let entry = file.entries[name] else {
            problems.append("missing: \(name) \(describe(shape))")
            return try Tensor(zeros: shape)
        }
        // PyTorch may store a 0-d or squeezed tensor; only an identical shape is accepted.
        guard entry.shape == shape else {
            problems.append("mis-shaped: \(name) expected \(describe(shape)), got \(describe(entry.shape))")
            return try Tensor(zeros: shape)
        }
        return try file.tensor(entry)
    }

    /// Throws `PointwiseError.weightsMismatch` naming every problem, if there is any.
    public func finish(network: String) throws {
        let unexpected = file.entries.values
            .filter { !used.contains($0.name) && !$0.name.hasSuffix("num_batches_tracked") }
            .sorted { $0.name < $1.name }
            .map { "unexpected: \($0.name) \(describe($0.shape))" }
        let all = problems + unexpected
        if !all.isEmpty { throw PointwiseError.weightsMismatch(path: file.path, network: network, problems: all) }
    }
}

extension Network {
    /// Builds `architecture` with trained weights from a safetensors `state_dict` (torchvision
    /// names; MobileNetV1's are documented on `Network.mobileNetV1`), BatchNorm folded in.
    /// `transformInput`: GoogLeNet only, torchvision's `transform_input=True` (set when its
    /// ImageNet weights are loaded), which re-normalises each input channel.
    public static func load(_ architecture: Architecture, weights path: String, transformInput: Bool = false) throws -> Network {
        let parameters = StateDictParameters(try SafeTensorsFile(path: path))
        let network = try build(architecture, parameters: parameters, transformInput: transformInput)
        try parameters.finish(network: network.name)
        return network
    }
}
