import Dispatch
import Foundation
import CBLAS

/// Work splitting over the cores.
///
/// Determinism rule: every kernel partitions *outputs* among workers and never reduces across
/// partitions, so results are bit-identical for any thread count.
///
/// OpenBLAS is pinned to one thread (its threaded results vary with the thread count, and its
/// spinning workers would compete with this pool); all parallelism comes from here.
public enum Parallel {
    nonisolated(unsafe) private static var configuredThreads: Int = {
        if let s = ProcessInfo.processInfo.environment["LIDIT_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Worker count for parallel regions and for OpenBLAS.
    public static var threads: Int { configuredThreads }

    /// Sets the worker count of this pool.
    public static func setThreads(_ n: Int) {
        configuredThreads = max(1, n)
    }

    static let blasConfigured: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// Calls `body` on disjoint contiguous sub-ranges covering 0..<count.
    /// Runs inline when the work is too small to be worth waking threads. Inside another parallel
    /// region (each worker computing one picture of a batch, say) it uses the workers left to the
    /// calling worker's share: with 2 threads and 2 outer workers each one runs its kernels alone.
    /// Results do not change with that, since no kernel's result depends on its workers.
    public static func forEachChunk(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let available = regionBudget ?? threads
        let workers = min(available, max(1, count / max(1, minChunk)))
        if workers <= 1 { body(0..<count); return }
        let chunk = (count + workers - 1) / workers
        let share = max(1, available / workers)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = w * chunk
            let hi = min(count, lo + chunk)
            guard lo < hi else { return }
            let outer = regionBudget
            setRegionBudget(share)
            body(lo..<hi)
            setRegionBudget(outer)
        }
    }

    /// The workers a parallel region's worker may use for nested regions (nil outside any region),
    /// per thread: GCD's workers are reused across regions, so it is set and restored around each
    /// body.
    private static let budgetKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    static var regionBudget: Int? {
        let raw = Int(bitPattern: pthread_getspecific(budgetKey))
        return raw == 0 ? nil : raw
    }

    private static func setRegionBudget(_ budget: Int?) {
        pthread_setspecific(budgetKey, UnsafeRawPointer(bitPattern: budget ?? 0))
    }

    /// Calls `body(i)` for every i in 0..<count, spread over the workers.
    public static func forEach(_ count: Int, minChunk: Int = 1, _ body: (Int) -> Void) {
        forEachChunk(count, minChunk: minChunk) { range in for i in range { body(i) } }
    }
}
