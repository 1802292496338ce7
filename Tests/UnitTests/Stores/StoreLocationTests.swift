import PaymentStores
import Testing

@Suite("Store location")
struct StoreLocationTests {
    @Test("sqlite paths and postgres URLs parse; anything else is refused")
    func parsing() {
        #expect(StoreLocation(argument: "sqlite:./data/payments.sqlite") == .sqlite(path: "./data/payments.sqlite"))
        #expect(StoreLocation(argument: "postgres://u@h/db") == .postgres(url: "postgres://u@h/db"))
        #expect(StoreLocation(argument: "postgresql://h/db") == .postgres(url: "postgresql://h/db"))
        #expect(StoreLocation(argument: "sqlite:") == nil)
        #expect(StoreLocation(argument: "mysql://h/db") == nil)
        #expect(StoreLocation.defaultValue == .sqlite(path: "./data/payments.sqlite"))
    }

    @Test("a password in a URL is never shown")
    func redaction() {
        let location = StoreLocation.postgres(url: "postgres://worker:s3cret@db:5432/payments")
        #expect(location.description == "postgres://worker:***@db:5432/payments")
        #expect(StoreLocation.postgres(url: "postgres://worker@db/payments").description == "postgres://worker@db/payments")
    }
}
