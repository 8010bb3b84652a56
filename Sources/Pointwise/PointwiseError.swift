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
    /// A graph that is not well formed (a cycle, an input nothing produces, two producers of a value),
    /// or whose node cannot be planned: what and where.
    case invalidGraph(String)
    /// Nodes the engine does not support, each with its name, op type, domain and the attribute
    /// or value that is not supported: all of them, in one error.
    case unsupportedNodes([String])
    /// A resource bound would be exceeded (memory of a plan): the amount and the limit.
    case resourceLimit(what: String, required: String, limit: String)

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
        case let .invalidGraph(problem):
            return "invalid graph: \(problem)"
        case let .unsupportedNodes(nodes):
            return "\(nodes.count) unsupported node\(nodes.count == 1 ? "" : "s"):\n" + nodes.map { "  " + $0 }.joined(separator: "\n")
        case let .resourceLimit(what, required, limit):
            return "\(what) needs \(required), more than the limit of \(limit)"
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
