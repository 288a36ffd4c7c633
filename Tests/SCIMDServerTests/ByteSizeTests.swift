import SCIMDServer
import Testing

/// `--memory-limit`'s sizes: units are powers of 1024; anything else is refused with a sentence.
@Suite struct ByteSizeTests {
    @Test(arguments: [
        ("1073741824", 1_073_741_824), ("512K", 524_288), ("1536M", 1_610_612_736), ("1.5G", 1_610_612_736),
        ("2GiB", 2_147_483_648), ("2 gb", 2_147_483_648), ("1T", 1_099_511_627_776), ("100b", 100), (" 64M ", 67_108_864),
    ])
    func sizesAreRead(text: String, bytes: Int) throws {
        #expect(try ByteSize.parse(text) == bytes)
    }

    @Test(arguments: [
        ("", "is not a size"), ("G", "is not a size"), ("lots", "is not a size"), ("-1G", "is not a size"),
        ("12X", "unknown unit 'X'"), ("1.5 parsecs", "unknown unit 'PARSECS'"), ("0", "more than zero"), ("0.1", "more than zero"),
        ("99999999T", "more than any machine"),
    ])
    func badSizesAreRefusedSayingWhy(text: String, message: String) {
        #expect(throws: ByteSize.Invalid.self) { try ByteSize.parse(text) }
        do {
            _ = try ByteSize.parse(text)
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }
}
