import XCTest
import Foundation
@testable import Gallery
import Sampling

final class A1111ParametersTests: XCTestCase {
    func fullSettings() -> GenerationSettings {
        GenerationSettings(
            prompt: "a red circle above a blue square,\nbright background: (studio light)",
            negativePrompt: "blurry, \"low quality\"\nwatermark",
            seed: UInt64.max, steps: 28, guidanceScale: 4.5, sampler: "dpm++2m", scheduler: "karras",
            width: 64, height: 48, fusionWeights: ["smollm2": 1, "gemma3": 0.75],
            templates: ["smollm2": PromptTemplateSetting(instruction: true, text: "Describe: \"{prompt}\", please\n"),
                        "gemma3": PromptTemplateSetting(instruction: false)],
            layer: -3, modelID: "lidit-s-shapes", modelHash: "0123456789",
            guidanceRescale: 0.7, guidanceInterval: GuidanceInterval(runStart: 0.1, runEnd: 0.9), shift: 3,
            elapsedSeconds: 12.345, created: Date(timeIntervalSince1970: 1_795_000_000.123),
            appVersion: "0.1.0", extra: ["Eta": "0.5", "Lora hashes": "a: 1, b: 2"])
    }

    func testProjectParametersRoundTrip() {
        let s = fullSettings()
        let text = A1111Parameters.format(s)
        XCTAssertTrue(text.contains("Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 4.5, Seed: 18446744073709551615, Size: 64x48"), text)
        XCTAssertTrue(text.contains("Fusion: \"gemma3=0.75, smollm2=1\""), text)
        XCTAssertTrue(text.contains("\nNegative prompt: blurry"), text)
        XCTAssertEqual(A1111Parameters.settings(from: text), s)
    }

    /// img2img and variation settings under A1111's own labels, read back from text and JSON.
    func testImg2ImgAndVariationRoundTrip() throws {
        var s = fullSettings()
        s.initImage = "/pictures/start, v2.png"
        s.denoisingStrength = 0.35
        s.variationSeed = 12
        s.variationStrength = 0.25
        let text = A1111Parameters.format(s)
        XCTAssertTrue(text.contains("Variation seed: 12, Variation seed strength: 0.25, Denoising strength: 0.35"), text)
        XCTAssertTrue(text.contains("Init image: \"/pictures/start, v2.png\""), text)
        XCTAssertEqual(A1111Parameters.settings(from: text), s)
        XCTAssertEqual(try GenerationSettings.fromJSON(s.jsonString()), s)
        // An A1111 img2img picture's labels land in the fields, not in `extra`.
        let a1111 = A1111Parameters.settings(from: "cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 512x512, Denoising strength: 0.75, Variation seed: 99, Variation seed strength: 0.1")
        XCTAssertEqual(a1111.denoisingStrength, 0.75)
        XCTAssertEqual(a1111.variationSeed, 99)
        XCTAssertEqual(a1111.variationStrength, 0.1)
        XCTAssertTrue(a1111.extra.isEmpty, "\(a1111.extra)")
    }

    func testRoundTripEverySampler() {
        for (name, label) in SamplerKind.allCases.map({ ($0.rawValue, $0.displayName) }) {
            var s = GenerationSettings(prompt: "x", seed: 7, sampler: name, created: Date(timeIntervalSince1970: 1000))
            s.negativePrompt = ""
            let text = A1111Parameters.format(s)
            XCTAssertTrue(text.contains("Sampler: \(label),"), text)
            XCTAssertFalse(text.contains("Negative prompt"), "no negative line when empty")
            XCTAssertEqual(A1111Parameters.settings(from: text), s, name)
        }
    }

    func testScriptsAndEmptyPrompt() {
        for prompt in ["赤い丸と青い四角", "красный круг", "🟥 над 🟦", "", "  spaced  "] {
            let s = GenerationSettings(prompt: prompt.trimmingCharacters(in: .whitespaces), negativePrompt: "ぼやけた",
                                       seed: 1, created: Date(timeIntervalSince1970: 5))
            XCTAssertEqual(A1111Parameters.settings(from: A1111Parameters.format(s)), s, prompt)
        }
    }

    /// The example from A1111's own `parse_generation_parameters` docstring.
    func testA1111DocstringExample() {
        let text = """
            girl with an artist's beret, determined, blue eyes, desert scene, computer monitors, heavy makeup, by Alphonse Mucha and Charlie Bowater, ((eyeshadow)), (coquettish), detailed, intricate
            Negative prompt: ugly, fat, obese, chubby, (((deformed))), [blurry], bad anatomy, disfigured, poorly drawn face, mutation, mutated, (extra_limb), (ugly), (poorly drawn hands), messy drawing
            Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 965400086, Size: 512x512, Model hash: 45dee52b
            """
        let s = A1111Parameters.settings(from: text)
        XCTAssertTrue(s.prompt.hasPrefix("girl with an artist's beret"))
        XCTAssertTrue(s.prompt.hasSuffix("detailed, intricate"))
        XCTAssertTrue(s.negativePrompt.hasPrefix("ugly, fat"))
        XCTAssertTrue(s.negativePrompt.hasSuffix("messy drawing"))
        XCTAssertEqual(s.steps, 20)
        XCTAssertEqual(s.sampler, "euler_a")
        XCTAssertEqual(s.guidanceScale, 7)
        XCTAssertEqual(s.seed, 965400086)
        XCTAssertEqual(s.width, 512)
        XCTAssertEqual(s.height, 512)
        XCTAssertEqual(s.modelHash, "45dee52b")
        XCTAssertNil(s.modelID)
    }

    /// A newer A1111/Forge string: multi-line prompt, no negative prompt, quoted values with commas
    /// and colons, a Karras sampler of an older build, keys the project has no field for.
    func testRealWorldA1111String() {
        let text = """
            masterpiece, best quality, 1girl, <lora:detail:0.6>,
            looking at viewer, city at night
            Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 1234567890, Size: 768x1152, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, VAE hash: 735e4c3a44, Denoising strength: 0.45, Clip skip: 2, Hires upscale: 1.5, Hires steps: 15, Hires upscaler: 4x-UltraSharp, Lora hashes: "detail: 1a2b3c4d5e6f, style: 0f9e8d7c6b5a", TI hashes: "easynegative: c74b4e810b03", Version: v1.6.0
            """
        let p = A1111Parameters.parse(text)
        XCTAssertEqual(p.prompt, "masterpiece, best quality, 1girl, <lora:detail:0.6>,\nlooking at viewer, city at night")
        XCTAssertEqual(p.negativePrompt, "")
        XCTAssertEqual(p.value("Lora hashes"), "detail: 1a2b3c4d5e6f, style: 0f9e8d7c6b5a")
        XCTAssertEqual(p.value("TI hashes"), "easynegative: c74b4e810b03")
        XCTAssertEqual(p.value("Hires upscaler"), "4x-UltraSharp")
        let s = A1111Parameters.settings(from: p)
        XCTAssertEqual(s.sampler, "dpm++2m")
        XCTAssertEqual(s.scheduler, "karras")
        XCTAssertEqual(s.guidanceScale, 6.5)
        XCTAssertEqual(s.seed, 1234567890)
        XCTAssertEqual(s.width, 768)
        XCTAssertEqual(s.height, 1152)
        XCTAssertEqual(s.modelID, "v1-5-pruned-emaonly")
        XCTAssertEqual(s.modelHash, "6ce0161689")
        XCTAssertEqual(s.extra["Clip skip"], "2")
        XCTAssertEqual(s.extra["Version"], "v1.6.0")
        XCTAssertNil(s.appVersion)
        XCTAssertEqual(s.extra["Lora hashes"], "detail: 1a2b3c4d5e6f, style: 0f9e8d7c6b5a")
        // Foreign keys survive a write/read cycle too.
        XCTAssertEqual(A1111Parameters.settings(from: A1111Parameters.format(s)), s)
    }

    func testStableDiffusionCppString() {
        let text = """
            a lovely cat
            Negative prompt: dog
            Steps: 20, CFG scale: 7, Guidance: 3.5, Eta: 0, Seed: 42, Size: 512x512, Model: sd-v1-4.ckpt, RNG: cuda, Sampler: euler_a karras, Version: stable-diffusion.cpp
            """
        let s = A1111Parameters.settings(from: text)
        XCTAssertEqual(s.prompt, "a lovely cat")
        XCTAssertEqual(s.negativePrompt, "dog")
        XCTAssertEqual(s.sampler, "euler_a")
        XCTAssertEqual(s.scheduler, "karras")
        XCTAssertEqual(s.extra["Guidance"], "3.5")
        XCTAssertEqual(s.modelID, "sd-v1-4.ckpt")
    }

    func testPromptOnlyTextHasNoParameterLine() {
        // Fewer than three pairs on the last line: it is part of the prompt (A1111 rule).
        let p = A1111Parameters.parse("a photo\nstyle: noir, mood: dark")
        XCTAssertEqual(p.prompt, "a photo\nstyle: noir, mood: dark")
        XCTAssertTrue(p.pairs.isEmpty)
    }

    func testFindPairsMatchesA1111Regex() {
        let pairs = A1111Parameters.findPairs(#"Steps: 20, Template: "a, \"b\": c", Size: 64x64, Bad"#)
        XCTAssertEqual(pairs.map(\.0), ["Steps", "Template", "Size"])
        XCTAssertEqual(pairs[1].1, #""a, \"b\": c""#)
        XCTAssertEqual(A1111Parameters.unquote(pairs[1].1), #"a, "b": c"#)
    }

    func testSettingsJSONIsTolerant() throws {
        let json = #"{"prompt":"p","seed":18446744073709551615,"futureKey":{"x":1},"fusionWeights":{"gemma3":1},"created":"2026-11-27T20:15:00.250Z"}"#
        let s = try GenerationSettings.fromJSON(json)
        XCTAssertEqual(s.prompt, "p")
        XCTAssertEqual(s.seed, UInt64.max)
        XCTAssertEqual(s.steps, 20, "missing keys take defaults")
        XCTAssertEqual(s.fusionWeights, ["gemma3": 1])
        XCTAssertEqual(ISO8601.format(s.created), "2026-11-27T20:15:00.250Z")
        let full = fullSettings()
        XCTAssertEqual(try GenerationSettings.fromJSON(full.jsonString()), full)
    }
}
