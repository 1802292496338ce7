import PaymentsDomain
import PluginProtocol

public struct DeletePaymentsPlugin: CommandPlugin {
    public static let command = "DeletePayments"
}
