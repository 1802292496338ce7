import PaymentsDomain

extension StoredReply {
    /// A recorded reply as its columns hold it.
    init(status: String, contentType: String, body: [UInt8], errorCode: String?, errorMessage: String?) {
        self.init(
            status: status, contentType: contentType, body: body,
            error: errorCode.map { DomainError(DomainError.Code(rawValue: $0), errorMessage ?? "") })
    }
}
