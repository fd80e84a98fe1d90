/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014;
/// the constants are those of Vigna's reference `splitmix64.c`).
///
/// Every random choice in the shapes domain goes through this generator and the helpers below, never
/// through the standard library's `random(in:using:)` or `shuffled(using:)`: their algorithms are not
/// promised to stay the same across Swift releases, and the data set, the benchmark prompt sets and
/// the ground-truth renders must be the same on every machine and every toolchain.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for item `index` of stream `seed`, independent of how many numbers earlier items
    /// drew: lets a data loader or a benchmark jump straight to example `index`. The start state is
    /// hashed, not `seed + index`, because neighbouring SplitMix64 states give shifted copies of one
    /// sequence.
    public init(seed: UInt64, index: UInt64) {
        state = SplitMix64.mix(seed ^ SplitMix64.mix(index &+ 0x6A09_E667_F3BC_C909))
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 output function (a bijective 64-bit finalizer).
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform integer in `0..<bound` by Lemire's multiply-shift with rejection (unbiased).
    public mutating func int(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let range = UInt64(bound)
        let threshold = (0 &- range) % range
        while true {
            let product = next().multipliedFullWidth(by: range)
            if product.low >= threshold { return Int(product.high) }
        }
    }

    /// Uniform integer in a closed range.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + int(below: range.count)
    }

    /// Uniform Double in [0, 1) with 53 random bits.
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform Double in `range`.
    public mutating func double(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + unit() * (range.upperBound - range.lowerBound)
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// A uniformly chosen element.
    public mutating func pick<C: Collection>(_ items: C) -> C.Element {
        precondition(!items.isEmpty, "cannot pick from an empty collection")
        return items[items.index(items.startIndex, offsetBy: int(below: items.count))]
    }

    /// An element chosen with probability proportional to its weight.
    public mutating func pick<T>(weighted items: [(T, Double)]) -> T {
        let total = items.reduce(0) { $0 + $1.1 }
        var target = unit() * total
        for (item, weight) in items {
            if target < weight { return item }
            target -= weight
        }
        // Rounding can leave a sliver past the last weight: it belongs to the last item that has one.
        return (items.last { $0.1 > 0 } ?? items[items.count - 1]).0
    }

    /// Fisher–Yates, drawing from the end (Durstenfeld's variant).
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, int(below: i + 1))
        }
    }

    public mutating func shuffled<T>(_ items: [T]) -> [T] {
        var copy = items
        shuffle(&copy)
        return copy
    }
}
