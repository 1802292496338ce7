import Crypto
import Foundation

/// Who may use the console: whoever presents the operator token, as a bearer token or once
/// through the login form, which gives a session cookie. Only the token's hash is kept; the
/// session and the CSRF tokens are HMACs under it, so any number of console replicas with the
/// same token accept each other's sessions, and changing the token ends every session.
public struct OperatorAccess: Sendable {
    public static let sessionCookie = "console_session"
    /// The HMAC key's bytes (a `SymmetricKey` is made for each use: it is not `Sendable`).
    private let key: [UInt8]
    private let tokenHash: [UInt8]
    private let sessionLifetime: Duration

    public init(tokenHash: [UInt8], sessionLifetime: Duration) {
        self.tokenHash = tokenHash
        key = Array(SHA256.hash(data: tokenHash + Array("payment-console-session".utf8)))
        self.sessionLifetime = sessionLifetime
    }

    public static func hash(token: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }

    /// Compares hashes in constant time, so the answer's timing tells nothing of the token.
    public func accepts(token: String) -> Bool {
        let presented = Self.hash(token: token)
        guard presented.count == tokenHash.count else { return false }
        return zip(presented, tokenHash).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// A new session's cookie value: its expiry, a random part, and their HMAC.
    public func newSession(now: Date = Date()) -> String {
        let expiry = Int64(now.timeIntervalSince1970) + sessionLifetime.components.seconds
        let nonce = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max)) }.joined()
        let claim = "\(expiry).\(nonce)"
        return claim + "." + mac("session:" + claim)
    }

    /// Whether `cookie` is a session this token issued that has not expired.
    public func acceptsSession(_ cookie: String, now: Date = Date()) -> Bool {
        let parts = cookie.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expiry = Int64(parts[0]), expiry > Int64(now.timeIntervalSince1970) else { return false }
        return Self.sameText(mac("session:\(parts[0]).\(parts[1])"), String(parts[2]))
    }

    /// The CSRF token every form of `session` carries.
    public func csrfToken(session: String) -> String {
        mac("csrf:" + session)
    }

    public func acceptsCSRF(_ token: String, session: String) -> Bool {
        Self.sameText(csrfToken(session: session), token)
    }

    private func mac(_ text: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: key)).map { String(format: "%02x", $0) }.joined()
    }

    private static func sameText(_ a: String, _ b: String) -> Bool {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
