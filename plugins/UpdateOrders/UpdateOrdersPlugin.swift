import PaymentsDomain
import PluginProtocol

public struct UpdateOrdersPlugin: CommandPlugin {
    public static let command = "UpdateOrders"
}
