// swift-tools-version:5.9
// LI-DiT Studio. Dependency direction: C library shims → Kernels → ModelFiles, Tokenizers → LLM →
//   NeuralLayers, PromptEncoder, Sampling, Diffusion → ImageIO, Shapes, Gallery → Pipeline →
//   Training, Evaluation → TerminalGraphics, Studio → lidit
import PackageDescription

let release: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "LIDiTStudio",
    platforms: [.macOS(.v13)],
    products: [.executable(name: "lidit", targets: ["lidit"])],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The order of the README's module table: each target uses only those above it
        // (Tests/LayeringTests checks this, and that every dependency is imported).

        // C library shims
        // OpenBLAS and ncursesw are linked without pkg-config: their .pc files carry -D flags that
        // SwiftPM rejects with a warning; the shim headers set what those flags would.
        .systemLibrary(name: "CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CNcursesW", providers: [.apt(["libncursesw5-dev"])]),
        .systemLibrary(name: "CSixel", pkgConfig: "libsixel", providers: [.apt(["libsixel-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "CShims", dependencies: ["CPNG", "CNcursesW"]),
        // element-wise inner loops in C, where clang vectorises them
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // where user files live (models, features, gallery, settings, themes): LIDIT_*, XDG, $HOME
        .target(name: "UserFolders"),

        // numeric kernels
        .target(name: "Kernels", dependencies: ["CBLAS", "CKernels"], swiftSettings: release),
        // model files and tokenizers
        .target(name: "ModelFiles", dependencies: ["Kernels", "UserFolders"], swiftSettings: release),
        .target(name: "Tokenizers", dependencies: ["ModelFiles"], swiftSettings: release),
        // LLM encoders
        .target(name: "LLM", dependencies: ["Kernels", "ModelFiles"], swiftSettings: release),
        // trainable network layers (forward and backward side by side), the LI prompt encoder,
        // the samplers, the LI-DiT network and its file format
        .target(name: "NeuralLayers", dependencies: ["Kernels"], swiftSettings: release),
        .target(name: "PromptEncoder", dependencies: ["Kernels", "LLM", "ModelFiles", "NeuralLayers", "Tokenizers"], swiftSettings: release),
        .target(name: "Sampling", dependencies: ["Kernels"], swiftSettings: release),
        .target(name: "Diffusion", dependencies: ["Kernels", "ModelFiles", "NeuralLayers", "PromptEncoder", "Sampling"], swiftSettings: release),
        // pictures (PNG files), the "shapes" domain (scenes, renderer, captions), the on-disk gallery
        // and the settings it records
        .target(name: "ImageIO", dependencies: ["CShims"], swiftSettings: release),
        .target(name: "Shapes", swiftSettings: release),
        .target(name: "Gallery", dependencies: ["CSQLite", "ImageIO", "Sampling", "UserFolders"], swiftSettings: release),
        // generation from a model file: load, encode, sample, picture, the settings it records
        .target(name: "Pipeline", dependencies: ["Diffusion", "Gallery", "ImageIO", "Kernels", "ModelFiles", "NeuralLayers", "PromptEncoder",
                                                "Sampling", "Shapes"], swiftSettings: release),
        // training (the shapes pool, the LLM feature cache, AdamW + EMA) and the benchmark
        .target(name: "Training", dependencies: ["Diffusion", "ImageIO", "Kernels", "ModelFiles", "NeuralLayers", "Pipeline", "PromptEncoder",
                                                "Sampling", "Shapes", "UserFolders"], swiftSettings: release),
        .target(name: "Evaluation", dependencies: ["Shapes"], swiftSettings: release),
        // pictures in the terminal, the ncurses studio
        .target(name: "TerminalGraphics", dependencies: ["CShims", "CSixel", "ImageIO"], swiftSettings: release),
        .target(name: "Studio", dependencies: ["CNcursesW", "CShims", "Gallery", "ImageIO", "Pipeline", "PromptEncoder", "Sampling",
                                              "TerminalGraphics", "UserFolders"], swiftSettings: release),
        // the parsers of outside data as fuzz targets (run by scripts/fuzz and replayed by FuzzTests)
        .target(name: "FuzzTargets", dependencies: ["Diffusion", "Evaluation", "Gallery", "ImageIO", "LLM", "ModelFiles", "Shapes",
                                                    "Studio", "TerminalGraphics", "Tokenizers"]),
        // the command line
        .executableTarget(name: "lidit", dependencies: [
            "Diffusion", "Evaluation", "Gallery", "ImageIO", "Kernels", "ModelFiles", "Pipeline", "PromptEncoder", "Sampling", "Shapes",
            "Studio", "TerminalGraphics", "Training",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: release),

        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "CKernels"]),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO"]),
        .testTarget(name: "ModelFilesTests", dependencies: ["ModelFiles"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "ModelFiles"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LLMTests", dependencies: ["LLM"], resources: [.copy("Fixtures")]),
        // Gradient-check helpers shared by the NeuralLayers and Diffusion tests (linked only into tests).
        .target(name: "GradientTestSupport", dependencies: ["NeuralLayers", "Kernels"], path: "Tests/GradientTestSupport"),
        .testTarget(name: "NeuralLayersTests", dependencies: ["NeuralLayers", "GradientTestSupport"]),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "PromptEncoder", "NeuralLayers", "Sampling", "GradientTestSupport"]),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Pipeline", "UserFolders", "Diffusion", "Shapes", "ImageIO", "PromptEncoder", "ModelFiles", "NeuralLayers", "Sampling", "Kernels"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Diffusion", "PromptEncoder", "ImageIO", "ModelFiles", "NeuralLayers", "Sampling", "Kernels"]),
        .testTarget(name: "GalleryTests", dependencies: ["Gallery", "ImageIO", "Sampling"]),
        .testTarget(name: "TerminalGraphicsTests", dependencies: ["TerminalGraphics", "ImageIO"]),
        .testTarget(name: "ShapesTests", dependencies: ["Shapes"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Shapes"]),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzTargets", "ModelFiles", "ImageIO", "LLM", "Tokenizers"]),
        .testTarget(name: "LayeringTests"),
        .testTarget(name: "StudioTests", dependencies: ["Studio", "Gallery", "Sampling", "ImageIO", "Pipeline", "Diffusion", "PromptEncoder",
                                                      "UserFolders", "ModelFiles"]),
    ]
)

// The libFuzzer driver: only when `scripts/fuzz` builds it (LIDIT_FUZZ=1, with -sanitize=fuzzer,address),
// so the normal build and tests never see a target without `main`.
if Context.environment["LIDIT_FUZZ"] == "1" {
    package.targets.append(.executableTarget(name: "lidit-fuzz", dependencies: ["FuzzTargets"], path: "fuzz/driver"))
}
