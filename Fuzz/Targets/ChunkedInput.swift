/// How the stream targets (``FuzzTarget/lineFraming``, ``FuzzTarget/httpRequestAssembly``) read
/// one fuzz input: a small header that picks a limit and the sizes of the chunks the payload is
/// delivered in, then the payload. The fuzzer mutates the split points like any other byte.
///
/// Layout: byte 0 selects the limit (an index into the target's table, modulo its size); byte 1
/// holds the number of chunk sizes `k` (modulo 16); the next `k` bytes are chunk sizes (each
/// byte `b` is a chunk of `b + 1` bytes; after the last size the rest is one chunk); the rest is
/// the payload. A short input is all header and an empty payload.
struct ChunkedInput {
    /// The limit byte (before the target reduces it modulo its table).
    var limitSelector: Int
    /// The bytes the stream carries.
    var payload: [UInt8]
    /// Chunk sizes as written in the header (each at least 1).
    var sizes: [Int]

    init(_ input: UnsafeRawBufferPointer) {
        var index = 0
        func next() -> Int? {
            guard index < input.count else { return nil }
            defer { index += 1 }
            return Int(input[index])
        }
        limitSelector = next() ?? 0
        let count = (next() ?? 0) % 16
        sizes = []
        for _ in 0..<count {
            guard let size = next() else { break }
            sizes.append(size + 1)
        }
        payload = index < input.count ? Array(input[index...]) : []
    }

    /// The payload cut at the header's chunk sizes; the remainder, if any, is the last chunk.
    /// Never empty chunks, and their concatenation is always ``payload``.
    var chunks: [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var start = 0
        for size in sizes where start < payload.count {
            let end = min(payload.count, start + size)
            result.append(payload[start..<end])
            start = end
        }
        if start < payload.count { result.append(payload[start...]) }
        return result
    }
}
