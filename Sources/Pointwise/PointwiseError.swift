/// Errors thrown for bad user input: shapes, sizes and options.
///
/// Each message names what was expected and what was given, so a caller can
/// fix the call without reading Pointwise's source.
public enum PointwiseError: Error, Equatable, CustomStringConvertible {
    /// A shape (or a single dimension) differs from the one required.
    case shapeMismatch(what: String, expected: String, actual: String)
    /// A scalar option is outside its domain.
    case invalidArgument(name: String, value: String, requirement: String)
    /// LAPACK reported an error.
    case lapack(String)
    /// A file that cannot be read as what it claims to be.
    case file(path: String, problem: String)
    /// A weights file that does not fit the network: every missing, unexpected and
    /// mis-shaped tensor, by name.
    case weightsMismatch(path: String, network: String, problems: [String])

    public var description: String {
        switch self {
        case let .shapeMismatch(what, expected, actual):
            return "\(what): expected \(expected), got \(actual)"
        case let .invalidArgument(name, value, requirement):
            return "\(name) must be \(requirement), got \(value)"
        case let .lapack(message):
            return "LAPACK: \(message)"
        case let .file(path, problem):
            return "\(path): \(problem)"
        case let .weightsMismatch(path, network, problems):
            return "\(path) does not fit \(network) (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
                + problems.map { "  " + $0 }.joined(separator: "\n")
        }
    }
}

extension String {
    /// The string without trailing spaces, tabs or newlines.
    func trimmingTrailingWhitespace() -> String {
        var result = self
        while let last = result.last, last.isWhitespace { result.removeLast() }
        return result
    }
}

/// `[1, 28, 28, 256]`, the way shapes appear in error messages.
func describe(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
