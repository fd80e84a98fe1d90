import ModelFiles

/// An embedding table left in the file's own (quantized) encoding; rows are dequantized on use.
public struct QuantizedEmbeddingTable: EmbeddingTable, @unchecked Sendable {
    public let file: GGUFFile
    public let info: GGUFTensorInfo
    public var rowCount: Int { info.rowCount }
    public var width: Int { info.shape[0] }

    public func row(_ id: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(id >= 0 && id < rowCount, "embedding row \(id) out of range")
        Dequantize.row(info.type, file.rawData(info) + id * info.rowByteCount, out, count: width)
    }
}

extension GGUFFile: LLMWeightFile {
    public func metadataInt(_ key: String) -> Int? { int(key) }
    public func metadataFloat(_ key: String) -> Float? { float(key) }
    public func metadataString(_ key: String) -> String? { string(key) }
    public func tensorShape(_ name: String) -> [Int]? { tensorInfo(name)?.shape }
    public func dequantizedTensor(_ name: String) throws -> [Float] { try tensor(named: name) }
    public func embeddingTable(_ name: String) throws -> EmbeddingTable {
        guard let info = tensorInfo(name), info.shape.count == 2 else { throw LLMLoadError("tensor \(name) missing or not 2-D") }
        return QuantizedEmbeddingTable(file: self, info: info)
    }
}
