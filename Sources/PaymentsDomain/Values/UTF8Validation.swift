extension Array where Element == UInt8 {
    /// Whether the bytes are valid UTF-8, checked in place: `String(validating:)` would build
    /// (and allocate) a String only to be thrown away.
    public var isValidUTF8: Bool {
        (try? UTF8Span(validating: span)) != nil
    }
}
