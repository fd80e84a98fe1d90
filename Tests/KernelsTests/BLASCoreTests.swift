import XCTest
import CKernels
@testable import Kernels

/// The choice of OpenBLAS kernel family: a generic fallback on a vector CPU is corrected, a vector
/// family or a CPU without AVX2 is left alone.
final class BLASCoreTests: XCTestCase {
    func testGenericFallbackOnVectorCPUIsCorrected() {
        XCTAssertEqual(BLASCore.recommendedCoreType(chosen: "Prescott", vectorLevel: 2), "SkylakeX")
        XCTAssertEqual(BLASCore.recommendedCoreType(chosen: "Nehalem", vectorLevel: 1), "Haswell")
        XCTAssertEqual(BLASCore.recommendedCoreType(chosen: "Sandybridge", vectorLevel: 2), "SkylakeX")
    }

    func testVectorFamiliesAndOldCPUsAreLeftAlone() {
        for family in ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"] {
            XCTAssertNil(BLASCore.recommendedCoreType(chosen: family, vectorLevel: 2), family)
        }
        XCTAssertNil(BLASCore.recommendedCoreType(chosen: "Prescott", vectorLevel: 0))
    }

    /// The CPU check agrees with the kernel's own account of the CPU's flags.
    func testVectorLevelMatchesProcCPUInfo() throws {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            throw XCTSkip("no /proc/cpuinfo flags on this system")
        }
        let flags = Set(line.split(separator: " ").map(String.init))
        let expected = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) ? 2
            : (flags.contains("avx2") && flags.contains("fma")) ? 1 : 0
        XCTAssertEqual(Int(lidit_cpu_vector_level()), expected)
        XCTAssertFalse(BLASCore.name.isEmpty)
    }
}
