import FuzzTargets
import Foundation

// The libFuzzer driver for every target in `FuzzTargets` (one binary; `LIDIT_FUZZ_TARGET` picks
// the target). Built only by `scripts/fuzz`, with `-sanitize=fuzzer,address`: libFuzzer brings
// `main`, this file brings the two callbacks.

nonisolated(unsafe) private var target: FuzzTarget = .gguf

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
    guard let name = ProcessInfo.processInfo.environment["LIDIT_FUZZ_TARGET"], let t = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("lidit-fuzz: set LIDIT_FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    if let reason = t.unavailableReason {
        FileHandle.standardError.write(Data("lidit-fuzz: \(name): \(reason)\n".utf8))
        exit(2)
    }
    target = t
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    target.run(data)
    return 0
}
