extension Network {
    /// MobileNetV1, width 1.0, following the paper's Table 1 (torchvision has none).
    /// [N, 224, 224, 3] -> [N, 1000].
    ///
    /// Parameter names (PyTorch style, see Scripts/torch_reference.py):
    /// stem `features.0.0.weight` + BN `features.0.1.*`; blocks i = 1…13
    /// `features.{i}.depthwise.0.weight`, `features.{i}.depthwise.1.*`,
    /// `features.{i}.pointwise.0.weight`, `features.{i}.pointwise.1.*`; `classifier.weight`, `classifier.bias`.
    static func mobileNetV1(_ p: ParameterSource) throws -> Network {
        var layers: [Layer] = [
            try p.convBatchNorm(conv: "features.0.0", bn: "features.0.1", 3, 32, kernel: 3, stride: 2, padding: 1,
                                activation: .relu),
        ]
        let blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                      (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]
        var inChannels = 32
        for (index, (outChannels, stride)) in blocks.enumerated() {
            layers.append(try DepthwiseSeparable(p, prefix: "features.\(index + 1)", inChannels: inChannels,
                                                 outChannels: outChannels, stride: stride))
            inChannels = outChannels
        }
        layers.append(GlobalAveragePool(name: "avgpool"))
        layers.append(try p.linear("classifier", 1024, 1000))
        return Network(name: "MobileNetV1", layers: layers)
    }
}
