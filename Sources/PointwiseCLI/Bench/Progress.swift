import Foundation

/// A one-line progress display on the terminal (stderr), rewritten in place; silent when
/// stderr is not a terminal, so logs and pipes get only the results.
struct Progress {
    let total: Int
    private(set) var done = 0
    private let enabled = isatty(2) != 0
    private let start = Timings.now()

    init(total: Int) { self.total = total }

    mutating func step(_ label: String) {
        done += 1
        guard enabled else { return }
        let elapsed = Int(Timings.now() - start)
        var line = "[\(done)/\(total)] \(elapsed / 60)m\(elapsed % 60)s  \(label)"
        if line.count > 100 { line = String(line.prefix(99)) + "…" }
        FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}
