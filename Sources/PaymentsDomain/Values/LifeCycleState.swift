/// The life-cycle state of a payment or a payment cancellation, as CRM.COM names it.
public enum LifeCycleState: String, Sendable, Hashable, CaseIterable, Codable {
    case draft = "DRAFT"
    case rejected = "REJECTED"
    case posted = "POSTED"
    case cancelled = "CANCELLED"
    case pendingVerification = "PENDING_VERIFICATION"
}
