export { resolveSubscription, type SecretBook } from './subscriptions';
export { renderRequest, robotReplyProblem } from './formats';
export { ALLOWLIST_FIELD, ALLOWLIST_SETTING, HostAllowlist } from './address-policy';
export { sendRequest } from './http-sender';
export { deliveryIdFor } from './batcher';
export { SubscriptionBook } from './subscription-book';
export { EventRouter } from './event-router';
export { DeliverySender, type DeliveryReport } from './delivery-sender';
export { sendTestDelivery, type TestDelivery } from './test-delivery';
