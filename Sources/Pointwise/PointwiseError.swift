/// Errors thrown for bad user input: shapes, sizes and options.
///
/// Each message names what was expected and what was given, so a caller can
/// fix the call without reading Pointwise's source.
public enum PointwiseError: Error, Equatable, CustomStringConvertible {
    /// A shape (or a single dimension) differs from the one required.
    case shapeMismatch(what: String, expected: String, actual: String)
    /// A scalar option is outside its domain.
    case invalidArgument(name: String, value: String, requirement: String)
    /// The BLAS library refused a request (for example a thread count).
    case blas(String)

    public var description: String {
        switch self {
        case let .shapeMismatch(what, expected, actual):
            return "\(what): expected \(expected), got \(actual)"
        case let .invalidArgument(name, value, requirement):
            return "\(name) must be \(requirement), got \(value)"
        case let .blas(message):
            return "BLAS: \(message)"
        }
    }
}

/// `[1, 28, 28, 256]`, the way shapes appear in error messages.
func describe(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
