#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory (`mmap`), so tensors are copied once,
/// from the page cache straight into their arrays, with no read buffer in between; or a copy of
/// bytes handed over in memory (`init(copying:name:)`), read the same way.
final class MappedFile {
    /// The file's path, or the name given to in-memory bytes (what errors name).
    let path: String
    let bytes: UnsafeRawBufferPointer
    /// Whether `bytes` is a mapping (unmapped) or an allocated copy (deallocated).
    private let isMapped: Bool

    /// A private copy of `bytes`, named `name` in errors.
    init(copying bytes: UnsafeRawBufferPointer, name: String) {
        path = name
        isMapped = false
        guard !bytes.isEmpty else {
            self.bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        copy.copyMemory(from: bytes)
        self.bytes = UnsafeRawBufferPointer(copy)
    }

    init(path: String) throws {
        self.path = path
        isMapped = true
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw PointwiseError.file(path: path, problem: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw PointwiseError.file(path: path, problem: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw PointwiseError.file(path: path, problem: "not a regular file")
        }
        let size = Int(status.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw PointwiseError.file(path: path, problem: "cannot map \(size) bytes: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        guard let base = bytes.baseAddress else { return }
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }
}

/// Writes `bytes` to `path` (replacing it), or throws naming the file.
func writeFile(_ path: String, _ bytes: UnsafeRawBufferPointer) throws {
    guard let file = fopen(path, "wb") else {
        throw PointwiseError.file(path: path, problem: "cannot create: \(String(cString: strerror(errno)))")
    }
    defer { fclose(file) }
    guard bytes.count == 0 || fwrite(bytes.baseAddress, 1, bytes.count, file) == bytes.count else {
        throw PointwiseError.file(path: path, problem: "write failed: \(String(cString: strerror(errno)))")
    }
}
