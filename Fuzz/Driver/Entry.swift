import SCIMDFuzzTargets

#if SCIMD_LIBFUZZER
import Foundation

// Built by `scripts/fuzz` with `-sanitize=fuzzer`: libFuzzer provides `main` and calls this
// entry point with each input. One binary serves every target; `SCIMD_FUZZ_TARGET` names the one
// to run (libFuzzer's child processes, in `-merge=1` and `-fork`, inherit it).

/// The target this process fuzzes, read once.
let selectedTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["SCIMD_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        fatalError("set SCIMD_FUZZ_TARGET to one of: \(names) (got \"\(name)\")")
    }
    return target
}()

/// libFuzzer's entry point: a failed check traps, which libFuzzer reports as a crash and saves.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    do {
        try selectedTarget.check(input)
    } catch {
        fatalError("\(selectedTarget.rawValue): \(error)")
    }
    return 0
}

#else
import Foundation

/// Without libFuzzer (an ordinary `swift build`): replays inputs through a target's check, as
/// libFuzzer does when given files: `scimd-fuzz TARGET FILE|DIRECTORY…`. Exits 1 on the first
/// failed check, printing it; a crash is a crash.
@main
struct FuzzReplay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count > 1 else {
            FileHandle.standardError.write(Data("usage: scimd-fuzz TARGET FILE|DIRECTORY…  (TARGET: \(names))\n".utf8))
            exit(2)
        }
        var files: [URL] = []
        for path in arguments.dropFirst() {
            let url = URL(fileURLWithPath: path)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                let entries = (try? FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)) ?? []
                files += entries.sorted { $0.path < $1.path }
            } else {
                files.append(url)
            }
        }
        for file in files {
            guard let bytes = FileManager.default.contents(atPath: file.path) else {
                FileHandle.standardError.write(Data("cannot read \(file.path)\n".utf8))
                exit(2)
            }
            do {
                try target.check(Array(bytes))
            } catch {
                print("\(file.path): FAILED: \(error)")
                exit(1)
            }
        }
        print("\(target.rawValue): \(files.count) inputs, all passed")
    }
}
#endif
