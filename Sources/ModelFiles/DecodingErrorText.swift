import Foundation

/// Where a JSON configuration went wrong, in the config's own key names ("data.relations.1: ...",
/// "model.heads: missing"); Foundation's localized text only says the data is not in the correct
/// format. Used for training configs and for the config inside a model file.
public func describeDecodingError(_ error: Error) -> String {
    func path(_ keys: [CodingKey]) -> String {
        keys.isEmpty ? "top level" : keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
    switch error as? DecodingError {
    case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
        let detail = (c.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? c.debugDescription
        return "\(path(c.codingPath)): \(detail)"
    case .keyNotFound(let key, let c):
        return "\(path(c.codingPath + [key])): missing"
    default:
        return error.localizedDescription
    }
}
