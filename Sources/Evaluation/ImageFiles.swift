import Foundation
import Shapes

/// Binary PPM (P6), readable by most image viewers and by ImageMagick/netpbm. Failing images are
/// saved as PPM until the ImageIO module (PNG) is wired into `lidit eval`.
public enum PPM {
    public static func encode(_ image: FloatImage) -> Data {
        var data = Data("P6\n\(image.width) \(image.height)\n255\n".utf8)
        data.append(contentsOf: image.rgb8())
        return data
    }

    public static func write(_ image: FloatImage, to path: String) throws {
        try encode(image).write(to: URL(fileURLWithPath: path))
    }
}
