import CBLAS
import CKernels

/// Which of OpenBLAS's kernel families runs the matrix products. OpenBLAS picks one from the CPU
/// model when the library loads; a build older than the CPU (Debian 12's 0.3.21 on Sapphire Rapids,
/// say) does not know the model and falls back to "Prescott", SSE3 kernels about three times slower
/// than the AVX-512 ones the CPU can run. The choice is read from `OPENBLAS_CORETYPE` at load time
/// only, so correcting it means starting the process again with that variable set
/// (`recommendedCoreType`, used by the `lidit` command at start-up).
public enum BLASCore {
    /// The family OpenBLAS chose in this process.
    public static var name: String { String(cString: openblas_get_corename()) }

    /// Families that use at least AVX2 with FMA; any other name on a CPU that has them is a fallback.
    static let vectorFamilies: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "excavator"]

    /// The `OPENBLAS_CORETYPE` that would run this CPU's vector units, or nil when OpenBLAS's own
    /// choice already does (or the CPU has neither AVX2 nor AVX-512).
    public static func recommendedCoreType(chosen: String = name, vectorLevel: Int = Int(lidit_cpu_vector_level())) -> String? {
        guard !vectorFamilies.contains(chosen.lowercased()) else { return nil }
        switch vectorLevel {
        case 2: return "SkylakeX"
        case 1: return "Haswell"
        default: return nil
        }
    }
}
