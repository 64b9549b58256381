// Kiln — Apache-2.0. See LICENSE.
//
// kiln-fuzz: Kiln's fuzz targets (KilnFuzz), in two builds.
// - Plain build (`swift build`): a corpus runner — `kiln-fuzz list`, `kiln-fuzz run TARGET FILE|DIR…` runs every
//   input through the target once, as the regression tests do.
// - Fuzz build (scripts/dev/fuzz.sh: KILN_FUZZ=1, libFuzzer + AddressSanitizer): libFuzzer's main drives
//   `LLVMFuzzerTestOneInput`; the target is named by `KILN_FUZZ_TARGET`.

import Foundation
import KilnFuzz

#if KILN_FUZZ
    /// The target this process fuzzes.
    let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["KILN_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget.named(name) else {
            let names = FuzzTarget.all.map(\.name).joined(separator: ", ")
            FileHandle.standardError.write(Data("kiln-fuzz: set KILN_FUZZ_TARGET to one of: \(names)\n".utf8))
            exit(2)
        }
        return target
    }()

    /// Runs one input (libFuzzer's callback).
    func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        selected.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }

    /// libFuzzer's driver, run from our own entry point: SwiftPM links an executable with `main` renamed to
    /// `kiln_fuzz_main`, so libFuzzer's `main` is not the one that runs.
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    @_cdecl("kiln_fuzz_main")
    func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        var count = argc
        var arguments = argv
        return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzOne(data, size) }
    }
#else
    /// The corpus runner (a plain build).
    @main enum KilnFuzzRunner {
        static func main() {
            let arguments = Array(CommandLine.arguments.dropFirst())
            switch arguments.first {
            case "list":
                for target in FuzzTarget.all { print("\(target.name)\t\(target.summary)") }
            case "run" where arguments.count >= 3:
                guard let target = FuzzTarget.named(arguments[1]) else {
                    fail("no target '\(arguments[1])' (kiln-fuzz list)")
                }
                var count = 0
                for path in inputs(arguments.dropFirst(2)) {
                    guard let bytes = FileManager.default.contents(atPath: path) else {
                        fail("unable to read '\(path)'")
                    }
                    target.run(Array(bytes))
                    count += 1
                }
                print("\(target.name): \(count) inputs, no crash")
            default:
                fail("usage: kiln-fuzz list | kiln-fuzz run TARGET FILE|DIR…  (fuzzing: scripts/dev/fuzz.sh)")
            }
        }

        static func fail(_ message: String) -> Never {
            FileHandle.standardError.write(Data("kiln-fuzz: \(message)\n".utf8))
            exit(2)
        }

        /// Inputs named on the command line: files, and the files directly inside folders.
        static func inputs(_ paths: some Sequence<String>) -> [String] {
            paths.flatMap { path -> [String] in
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
                    return [path]
                }
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                return names.sorted().filter { !$0.hasPrefix(".") }.map { path + "/" + $0 }
            }
        }
    }
#endif
