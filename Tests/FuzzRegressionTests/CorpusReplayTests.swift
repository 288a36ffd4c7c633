import Foundation
import SCIMDFuzzTargets
import Testing

/// Every input of the committed fuzz corpus (`Fuzz/corpus/TARGET/`) through its target's check,
/// in the ordinary test suite: the minimized corpus covers what the fuzzer reached, and every
/// input that ever crashed a target is kept there (as `crash-*`), so a regression fails here
/// without running the fuzzer.
@Suite struct CorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")

    static func inputs(of target: FuzzTarget) throws -> [URL] {
        let directory = corpus.appendingPathComponent(target.rawValue)
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test(arguments: FuzzTarget.allCases)
    func everyCorpusInputPassesItsCheck(_ target: FuzzTarget) throws {
        let files = try Self.inputs(of: target)
        // A corpus that went missing would make this test pass without replaying anything.
        #expect(files.count >= 10, "Fuzz/corpus/\(target.rawValue) holds \(files.count) inputs")
        for file in files {
            let bytes = Array(try Data(contentsOf: file))
            do {
                try target.check(bytes)
            } catch {
                Issue.record("\(target.rawValue) \(file.lastPathComponent): \(error)")
            }
        }
    }
}
