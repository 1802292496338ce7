import CancelPaymentPlugin
import GetPaymentsPlugin
import Testing
import WorkerRuntime

@Suite("Plugin registry")
struct PluginRegistryTests {
    @Test("a command maps to its plugin until disabled")
    func enableAndDisable() {
        var registry = PluginRegistry([GetPaymentsPlugin(), CancelPaymentPlugin()])
        #expect(registry.commands == ["CancelPayment", "GetPayments"])
        #expect(registry.plugin(for: "GetPayments") is GetPaymentsPlugin)
        #expect(registry.plugin(for: "getpayments") == nil, "command names are exact")
        registry.disable("GetPayments")
        #expect(registry.plugin(for: "GetPayments") == nil)
        #expect(registry.commands == ["CancelPayment"])
    }
}
