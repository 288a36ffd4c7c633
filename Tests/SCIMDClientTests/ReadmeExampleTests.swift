import Foundation
import Testing

/// The README's "Using the Swift client" program is the one CI compiles as a separate package
/// (Tests/ConsumerPackage): the two must not drift apart.
@Suite struct ReadmeExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theReadmeProgramIsTheConsumerPackagesProgram() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let program = try String(
            contentsOf: Self.root.appendingPathComponent("Tests/ConsumerPackage/Sources/scimd-consumer/main.swift"), encoding: .utf8)
        guard let section = readme.range(of: "## Using the Swift client") else {
            Issue.record("README has no \"Using the Swift client\" section")
            return
        }
        let blocks = readme[section.upperBound...].components(separatedBy: "```swift\n").dropFirst().map {
            $0.components(separatedBy: "```\n")[0]
        }
        #expect(blocks.contains(program), "the README's example differs from Tests/ConsumerPackage's main.swift")
        #expect(readme[section.upperBound...].contains(".package(url:"))
        #expect(readme[section.upperBound...].contains(#".product(name: "SCIMDClient", package: "scimd")"#))
    }
}
