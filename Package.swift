// swift-tools-version:5.9
// LI-DiT Studio. Dependency direction (each line only uses the lines above it):
//   C library shims → Kernels → ModelFiles, Tokenizers → LLM → (PromptEncoder → Diffusion → Training/Evaluation)
//   → ImageIO/Gallery/TerminalGraphics → Studio → lidit
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
        // C library shims
        // OpenBLAS and ncursesw are linked without pkg-config: their .pc files carry -D flags that
        // SwiftPM rejects with a warning; the shim headers set what those flags would.
        .systemLibrary(name: "CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CNcursesW", providers: [.apt(["libncursesw5-dev"])]),
        .systemLibrary(name: "CSixel", pkgConfig: "libsixel", providers: [.apt(["libsixel-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "CShims", dependencies: ["CPNG", "CNcursesW", "CBLAS"]),

        // numeric kernels (element-wise inner loops in C, where clang vectorises them)
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "Kernels", dependencies: ["CBLAS", "CShims", "CKernels"], swiftSettings: release),
        // where user files live (models, features, gallery, settings, themes): LIDIT_*, XDG, $HOME
        .target(name: "UserFolders"),
        // model files and tokenizers
        .target(name: "ModelFiles", dependencies: ["Kernels", "UserFolders"], swiftSettings: release),
        .target(name: "Tokenizers", dependencies: ["ModelFiles"], swiftSettings: release),
        // LLM encoders
        .target(name: "LLM", dependencies: ["Kernels", "ModelFiles", "Tokenizers"], swiftSettings: release),
        // trainable network layers (forward and backward side by side), the LI prompt encoder,
        // the LI-DiT network and the samplers
        .target(name: "NeuralLayers", dependencies: ["Kernels"], swiftSettings: release),
        .target(name: "PromptEncoder", dependencies: ["NeuralLayers", "LLM", "Tokenizers", "ModelFiles"], swiftSettings: release),
        .target(name: "Diffusion", dependencies: ["NeuralLayers", "PromptEncoder"], swiftSettings: release),
        .target(name: "Sampling", dependencies: ["Kernels"], swiftSettings: release),
        // training: the shapes dataset, the LLM feature cache, the trainer; generation from a trained model
        .target(name: "Training", dependencies: ["Diffusion", "PromptEncoder", "Sampling", "Shapes", "ImageIO", "ModelFiles", "Kernels", "UserFolders"],
                swiftSettings: release),
        // imaging (PNG files); below training so sample grids can be written
        .target(name: "ImageIO", dependencies: ["CShims"], swiftSettings: release),
        // the "shapes" domain: scene specs, renderer, captions; and the prompt-following benchmark
        .target(name: "Shapes", dependencies: ["Kernels"], swiftSettings: release),
        .target(name: "Evaluation", dependencies: ["Shapes", "ImageIO"], swiftSettings: release),

        // the on-disk gallery (PNG files + SQLite index) and pictures in the terminal
        .target(name: "Gallery", dependencies: ["ImageIO", "CSQLite", "UserFolders"], swiftSettings: release),
        .target(name: "TerminalGraphics", dependencies: ["ImageIO", "CSixel", "CShims"], swiftSettings: release),
        // the ncurses studio
        .target(name: "Studio", dependencies: ["CNcursesW", "CShims", "Training", "Gallery", "TerminalGraphics", "Sampling",
                                              "PromptEncoder", "LLM", "ImageIO", "UserFolders"], swiftSettings: release),

        .executableTarget(name: "lidit", dependencies: [
            "Studio",
            "Kernels", "ModelFiles", "Tokenizers", "LLM", "ImageIO", "Shapes", "Evaluation",
            "NeuralLayers", "PromptEncoder", "Diffusion", "Sampling", "Gallery", "TerminalGraphics", "Training", "UserFolders",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: release),

        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO"]),
        .testTarget(name: "ModelFilesTests", dependencies: ["ModelFiles"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "ModelFiles"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LLMTests", dependencies: ["LLM"], resources: [.copy("Fixtures")]),
        // Gradient-check helpers shared by the NeuralLayers and Diffusion tests (linked only into tests).
        .target(name: "GradientTestSupport", dependencies: ["NeuralLayers", "Kernels"], path: "Tests/GradientTestSupport"),
        .testTarget(name: "NeuralLayersTests", dependencies: ["NeuralLayers", "GradientTestSupport"]),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "PromptEncoder", "NeuralLayers", "GradientTestSupport"]),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Diffusion", "Shapes", "ImageIO", "PromptEncoder", "ModelFiles", "NeuralLayers", "Sampling", "Kernels"]),
        .testTarget(name: "GalleryTests", dependencies: ["Gallery", "ImageIO"]),
        .testTarget(name: "TerminalGraphicsTests", dependencies: ["TerminalGraphics", "ImageIO"]),
        .testTarget(name: "ShapesTests", dependencies: ["Shapes"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Shapes"]),
        // the parsers of outside data as fuzz targets (run by scripts/fuzz and replayed by FuzzTests)
        .target(name: "FuzzTargets", dependencies: ["ModelFiles", "Tokenizers", "LLM", "ImageIO", "Gallery", "Shapes", "Evaluation",
                                                    "Diffusion", "Training", "Studio", "TerminalGraphics"]),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzTargets", "ModelFiles", "ImageIO", "LLM", "Tokenizers"]),
        .testTarget(name: "StudioTests", dependencies: ["Studio", "Gallery", "Sampling", "ImageIO", "Training", "Diffusion", "PromptEncoder",
                                                      "UserFolders", "ModelFiles"]),
    ]
)

// The libFuzzer driver: only when `scripts/fuzz` builds it (LIDIT_FUZZ=1, with -sanitize=fuzzer,address),
// so the normal build and tests never see a target without `main`.
if Context.environment["LIDIT_FUZZ"] == "1" {
    package.targets.append(.executableTarget(name: "lidit-fuzz", dependencies: ["FuzzTargets"], path: "fuzz/driver"))
}
