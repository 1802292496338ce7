import PaymentsDomain
import PluginProtocol

public struct UpdatePaymentsPlugin: CommandPlugin {
    public static let command = "UpdatePayments"
}
