import XCTest
@testable import Sampling

final class ScheduleTests: XCTestCase {
    func testUniformSigmasEndExactly() throws {
        let schedule = try Schedule(steps: 10)
        XCTAssertEqual(schedule.sigmas.count, 11)
        XCTAssertEqual(schedule.sigmas.first, 1)
        XCTAssertEqual(schedule.sigmas.last, 0)
        for (i, sigma) in schedule.sigmas.enumerated() {
            XCTAssertEqual(sigma, 1 - Double(i) / 10, accuracy: 1e-15)
        }
    }

    func testShiftFollowsSD3() throws {
        for shift in [0.1, 0.5, 3, 7.3] {
            let schedule = try Schedule(steps: 7, shift: shift)
            XCTAssertEqual(schedule.sigmas.first, 1, "shift \(shift)")
            XCTAssertEqual(schedule.sigmas.last, 0, "shift \(shift)")
            for i in 1..<7 {
                let t = 1 - Double(i) / 7
                XCTAssertEqual(schedule.sigmas[i], shift * t / (1 + (shift - 1) * t), accuracy: 1e-15)
            }
            XCTAssertTrue(zip(schedule.sigmas, schedule.sigmas.dropFirst()).allSatisfy { $0 > $1 }, "strictly decreasing")
        }
        // Shift > 1 spends more of the steps at high noise.
        XCTAssertGreaterThan(try Schedule(steps: 2, shift: 3).sigmas[1], 0.5)
        XCTAssertEqual(try Schedule(steps: 2, shift: 3).sigmas[1], 0.75, accuracy: 1e-15)
    }

    func testOneStepAndTheMaximum() throws {
        XCTAssertEqual(try Schedule(steps: 1, shift: 5).sigmas, [1, 0])
        XCTAssertEqual(try Schedule(steps: 1000).sigmas.count, 1001)
    }

    func testInvalidSchedules() {
        for (steps, shift) in [(0, 1.0), (1001, 1), (-3, 1), (10, 0), (10, -2), (10, .nan), (10, .infinity)] {
            XCTAssertThrowsError(try Schedule(steps: steps, shift: shift), "\(steps) \(shift)") { error in
                guard case SamplingError.invalidSetting = error else { return XCTFail("\(error)") }
            }
        }
    }
}

final class SamplerKindTests: XCTestCase {
    func testNamesAndLabels() {
        XCTAssertEqual(SamplerKind.allCases.map(\.rawValue), ["euler", "euler_a", "heun", "dpm++2m", "ddim", "unipc", "lcm"])
        XCTAssertEqual(SamplerKind.allCases.map(\.displayName), ["Euler", "Euler a", "Heun", "DPM++ 2M", "DDIM", "UniPC", "LCM"])
    }

    func testParsesEitherSpellingIgnoringCase() throws {
        for kind in SamplerKind.allCases {
            XCTAssertEqual(try SamplerKind(parsing: kind.rawValue), kind)
            XCTAssertEqual(try SamplerKind(parsing: kind.displayName), kind)
            XCTAssertEqual(try SamplerKind(parsing: kind.rawValue.uppercased()), kind)
            XCTAssertEqual(try SamplerKind(parsing: kind.displayName.lowercased()), kind)
        }
        XCTAssertEqual(try SamplerKind(parsing: "  EULER A "), .eulerAncestral)
        XCTAssertEqual(try SamplerKind(parsing: "dpm++ 2m"), .dpmpp2m)
        XCTAssertEqual(try SamplerKind(parsing: "euler_ancestral"), .eulerAncestral)
        XCTAssertEqual(try SamplerKind(parsing: "dpmpp_2m"), .dpmpp2m)
        XCTAssertEqual(try SamplerKind(parsing: "uni_pc_bh2"), .unipc)
        XCTAssertEqual(try SamplerKind(parsing: "ddim_trailing"), .ddim)
    }

    func testUnknownNameListsTheValidOnes() {
        XCTAssertThrowsError(try SamplerKind(parsing: "dpm++2m karras")) { error in
            XCTAssertEqual(error as? SamplingError, .unknownSampler("dpm++2m karras"))
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("unknown sampler \"dpm++2m karras\""), message)
            for kind in SamplerKind.allCases {
                XCTAssertTrue(message.contains(kind.rawValue) && message.contains(kind.displayName), message)
            }
            XCTAssertFalse(message.contains("\n"))
            XCTAssertEqual(error.localizedDescription, message)
        }
        XCTAssertThrowsError(try SamplerKind(parsing: ""))
        XCTAssertThrowsError(try SamplerKind(parsing: "euler a karras"))
    }

    func testEtaDefaultsAndEvaluations() {
        XCTAssertEqual(SamplerKind.eulerAncestral.defaultEta, 1)
        XCTAssertEqual(SamplerKind.ddim.defaultEta, 0)
        XCTAssertEqual(SamplerKind.allCases.filter(\.usesEta), [.eulerAncestral, .ddim])
        XCTAssertEqual(SamplerKind.heun.modelEvaluations(steps: 10), 19)
        XCTAssertEqual(SamplerKind.unipc.modelEvaluations(steps: 10), 10)
    }
}

final class SettingsTests: XCTestCase {
    func message(_ settings: SamplerSettings) -> String? {
        do { try settings.validate(); return nil } catch { return "\(error)" }
    }

    func testDefaultsAreValid() throws {
        XCTAssertNil(message(SamplerSettings()))
        XCTAssertNoThrow(try Sampler(settings: SamplerSettings(sampler: .unipc, steps: 1000, shift: 3, guidanceScale: 50,
                                                               guidanceRescale: 1, guidanceInterval: .init(low: 0.3, high: 0.3), eta: 0)))
        XCTAssertEqual(SamplerSettings(sampler: .eulerAncestral).effectiveEta, 1)
        XCTAssertEqual(SamplerSettings(sampler: .ddim).effectiveEta, 0)
        XCTAssertEqual(SamplerSettings(sampler: .ddim, eta: 0.4).effectiveEta, 0.4)
    }

    func testEachBadSettingIsNamed() {
        let cases: [(SamplerSettings, String)] = [
            (SamplerSettings(steps: 0), "steps must be in 1...1000 (got 0)"),
            (SamplerSettings(steps: 1001), "steps must be in 1...1000 (got 1001)"),
            (SamplerSettings(guidanceScale: 50.5), "guidance scale must be in 0...50 (got 50.5)"),
            (SamplerSettings(guidanceScale: -1), "guidance scale must be in 0...50 (got -1.0)"),
            (SamplerSettings(guidanceScale: .nan), "guidance scale must be in 0...50 (got nan)"),
            (SamplerSettings(shift: 0), "shift must be a finite number > 0 (got 0.0)"),
            (SamplerSettings(eta: -0.1), "eta must be a finite number ≥ 0 (got -0.1)"),
            (SamplerSettings(eta: .infinity), "eta must be a finite number ≥ 0 (got inf)"),
            (SamplerSettings(guidanceRescale: 1.5), "guidance rescale must be in 0...1 (got 1.5)"),
            (SamplerSettings(guidanceInterval: .init(low: 0.8, high: 0.2)),
             "guidance interval low (0.8) must not exceed high (0.2)"),
            (SamplerSettings(guidanceInterval: .init(low: 0.1, high: 1.5)),
             "guidance interval bounds must be sigmas in 0...1 (got 0.1...1.5)"),
        ]
        for (settings, expected) in cases {
            XCTAssertEqual(message(settings), expected)
            XCTAssertThrowsError(try Sampler(settings: settings))
        }
    }

    func testIntervalIsClosed() {
        let interval = GuidanceInterval(low: 0.25, high: 0.75)
        XCTAssertTrue(interval.contains(0.25))
        XCTAssertTrue(interval.contains(0.75))
        XCTAssertFalse(interval.contains(0.76))
        XCTAssertTrue(GuidanceInterval.always.contains(1))
        XCTAssertTrue(GuidanceInterval.always.contains(0))
    }
}
