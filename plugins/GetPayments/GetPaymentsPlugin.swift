import PaymentsDomain
import PluginProtocol

public struct GetPaymentsPlugin: CommandPlugin {
    public static let command = "GetPayments"
}
