import Foundation

/// A one-line progress bar on standard error, redrawn in place.
struct SendProgress: Sendable {
    var width = 30

    func draw(lines done: Int, of total: Int, elapsed: Duration) {
        FileHandle.standardError.write(Data(("\r" + line(lines: done, of: total, elapsed: elapsed) + "\u{1B}[K").utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\n".utf8))
    }

    func line(lines done: Int, of total: Int, elapsed: Duration) -> String {
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let filled = Int(fraction * Double(width))
        let rate = elapsed.seconds > 0 ? Double(done) / elapsed.seconds : 0
        var text = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
        text += String(format: "%3d%%  %d/%d lines  %d lines/s", Int(fraction * 100), done, total, Int(rate))
        if rate > 0, done < total { text += String(format: "  eta %.0f s", Double(total - done) / rate) }
        return text
    }
}

extension Duration {
    /// For rates: a count over this much time.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
