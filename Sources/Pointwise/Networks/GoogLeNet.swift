extension Network {
    /// torchvision's `googlenet(aux_logits=False, transform_input=False)`.
    /// [N, 224, 224, 3] -> [N, 1000]. Parameter names as torchvision's state_dict
    /// (`conv1.conv.weight`, `inception3a.branch2.1.bn.running_var`, `fc.bias`, ...).
    static func googLeNet(_ p: ParameterSource, branch3Kernel: InceptionModule.Branch3Kernel = .torchvision3x3,
                          transformInput: Bool = false) throws -> Network {
        func basic(_ name: String, _ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1, padding: Int = 0) throws -> Conv2D {
            try p.convBatchNorm(conv: "\(name).conv", bn: "\(name).bn", cin, cout, kernel: Size2D(kernel),
                                stride: Size2D(stride), padding: Padding2D(padding), activation: .relu, eps: 0.001)
        }
        func inception(_ name: String, _ c: (Int, Int, Int, Int, Int, Int, Int)) throws -> InceptionModule {
            try InceptionModule(p, prefix: name, inChannels: c.0, ch1x1: c.1, ch3x3Reduce: c.2, ch3x3: c.3,
                                ch5x5Reduce: c.4, ch5x5: c.5, poolProjection: c.6, branch3Kernel: branch3Kernel)
        }
        func maxPool(_ name: String, kernel: Int = 3) throws -> Pool2D {
            try Pool2D(.max, kernel: Size2D(kernel), stride: 2, ceilMode: true, name: name)
        }
        // torchvision's transform_input: x_c · (std_c / 0.5) + (mean_c − 0.5) / 0.5, ImageNet mean and std.
        let inputTransform: [Layer] = transformInput
            ? [try ChannelAffine(scale: [0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5],
                             shift: [(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5], name: "transform_input")]
            : []
        let layers: [Layer] = inputTransform + [
            try basic("conv1", 3, 64, kernel: 7, stride: 2, padding: 3),
            try maxPool("maxpool1"),
            try basic("conv2", 64, 64, kernel: 1),
            try basic("conv3", 64, 192, kernel: 3, padding: 1),
            try maxPool("maxpool2"),
            try inception("inception3a", (192, 64, 96, 128, 16, 32, 32)),
            try inception("inception3b", (256, 128, 128, 192, 32, 96, 64)),
            try maxPool("maxpool3"),
            try inception("inception4a", (480, 192, 96, 208, 16, 48, 64)),
            try inception("inception4b", (512, 160, 112, 224, 24, 64, 64)),
            try inception("inception4c", (512, 128, 128, 256, 24, 64, 64)),
            try inception("inception4d", (512, 112, 144, 288, 32, 64, 64)),
            try inception("inception4e", (528, 256, 160, 320, 32, 128, 128)),
            try maxPool("maxpool4", kernel: 2),
            try inception("inception5a", (832, 256, 160, 320, 32, 128, 128)),
            try inception("inception5b", (832, 384, 192, 384, 48, 128, 128)),
            GlobalAveragePool(name: "avgpool"),
            try p.linear("fc", 1024, 1000),
        ]
        return Network(name: "GoogLeNet", layers: layers)
    }
}
