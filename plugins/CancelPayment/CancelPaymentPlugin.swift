import PaymentsDomain
import PluginProtocol

public struct CancelPaymentPlugin: CommandPlugin {
    public static let command = "CancelPayment"
}
