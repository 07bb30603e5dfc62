//! Why an order command was refused. Variants are append-only; codes are stable (see
//! [`Rejection`]).

use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money};
use crate::rejection::{Rejection, RejectionKind};

/// Why an order command was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum OrderRejection {
    #[error("no such order")]
    UnknownOrder,
    #[error("the entity id is not {{tenant}}/{{order id}}")]
    InvalidOrderId,
    #[error("the order was placed by another checkout")]
    AlreadyPlaced,
    #[error("an order needs at least one line")]
    NoLines,
    #[error("an order has at most {max} lines")]
    TooManyLines { max: u32 },
    #[error("every amount must be in {expected}")]
    CurrencyMismatch { expected: Currency },
    #[error("an amount is negative, out of range or overflows")]
    AmountInvalid,
    #[error("line {line}: net or total does not follow from its amounts")]
    LineMismatch { line: u16 },
    #[error("the lines do not add up to the totals")]
    TotalsMismatch,
    #[error("the authorization does not hold the order total")]
    AuthorizationMismatch,
    #[error("a commission is at most {max_bps} basis points")]
    CommissionInvalid { max_bps: u16 },
    #[error("line {line}: quantity, vat rate or handling days out of range")]
    LineInvalid { line: u16 },
    #[error("{field} must be {min_bytes} to {max_bytes} bytes")]
    TextInvalid { field: String, min_bytes: u32, max_bytes: u32 },
    #[error("an order carries at most {max} promotions")]
    TooManyPromotions { max: u32 },
    #[error("the fraud check rejected this order")]
    FraudRejected,
    #[error("the order was cancelled")]
    OrderCancelled,
    #[error("the order was refunded")]
    OrderRefunded,
    #[error("shipments are not planned yet")]
    ShipmentsNotPlanned,
    #[error("no such shipment")]
    UnknownShipment,
    #[error("the shipment already shipped with another carrier or tracking number")]
    AlreadyShipped,
    #[error("the shipment has not shipped")]
    NotShipped,
    #[error("a shipment has shipped: too late to cancel")]
    TooLateToCancel,
    #[error("the order is not cancelled: only then is its payment voided or its stock restocked")]
    NotCancelled,
    #[error("money was captured: the authorization cannot be voided")]
    AlreadyCaptured,
    #[error("the authorization was voided")]
    AuthorizationVoided,
    #[error("only {capturable} remains to capture")]
    CaptureExceedsAuthorization { capturable: Money },
    #[error("another capture was recorded under this id")]
    CaptureConflict,
    #[error("only {refundable} remains to refund")]
    RefundExceedsCaptured { refundable: Money },
    #[error("another refund was recorded under this id")]
    RefundConflict,
    #[error("the payment provider is not the authorization's")]
    PspMismatch,
    #[error("an order records at most {max} captures")]
    TooManyCaptures { max: u32 },
    #[error("an order records at most {max} refunds")]
    TooManyRefunds { max: u32 },
    #[error("no such return")]
    UnknownReturn,
    #[error("another return awaits a decision")]
    ReturnPending,
    #[error("an order has at most {max} returns")]
    TooManyReturns { max: u32 },
    #[error("a return names one to as many lines as the order has, each once, of one shipment")]
    ReturnLinesInvalid,
    #[error("line {line} has not been delivered")]
    NotDelivered { line: u16 },
    #[error("line {line}'s return window has closed")]
    ReturnWindowClosed { line: u16 },
    #[error("a return's lines must come from one shipment")]
    ReturnSpansShipments,
    #[error("line {line}: only {returnable} units can still be returned")]
    ReturnExceedsLine { line: u16, returnable: u32 },
    #[error("the return was decided otherwise")]
    ReturnAlreadyDecided,
    #[error("the return is not approved")]
    ReturnNotApproved,
    #[error("the return was received with other sellable units")]
    ReturnAlreadyReceived,
    #[error("the return has not been received")]
    ReturnNotReceived,
    #[error("no such appeasement")]
    UnknownAppeasement,
    #[error("an order has at most {max} appeasements")]
    TooManyAppeasements { max: u32 },
    #[error("another appeasement was granted under this request id")]
    AppeasementConflict,
    #[error("the order's timeline has {known} notices")]
    UnknownNotice { known: u32 },
    #[error("a shipment keeps at most {max} tracking events")]
    TooManyTrackingEvents { max: u32 },
    #[error("the order's payment is disputed: its chargeback settles it")]
    PaymentDisputed,
    #[error("a chargeback takes all that was captured and not refunded, for a known reason")]
    ChargebackInvalid,
    #[error("the order has other sellers' lines: support cancels it")]
    SharedWithOtherSellers,
}

impl Rejection for OrderRejection {
    fn code(&self) -> &'static str {
        match self {
            OrderRejection::UnknownOrder => "unknown_order",
            OrderRejection::InvalidOrderId => "invalid_order_id",
            OrderRejection::AlreadyPlaced => "already_placed",
            OrderRejection::NoLines => "no_lines",
            OrderRejection::TooManyLines { .. } => "too_many_lines",
            OrderRejection::CurrencyMismatch { .. } => "currency_mismatch",
            OrderRejection::AmountInvalid => "amount_invalid",
            OrderRejection::LineMismatch { .. } => "line_mismatch",
            OrderRejection::TotalsMismatch => "totals_mismatch",
            OrderRejection::AuthorizationMismatch => "authorization_mismatch",
            OrderRejection::CommissionInvalid { .. } => "commission_invalid",
            OrderRejection::LineInvalid { .. } => "line_invalid",
            OrderRejection::TextInvalid { .. } => "text_invalid",
            OrderRejection::TooManyPromotions { .. } => "too_many_promotions",
            OrderRejection::FraudRejected => "fraud_rejected",
            OrderRejection::OrderCancelled => "order_cancelled",
            OrderRejection::OrderRefunded => "order_refunded",
            OrderRejection::ShipmentsNotPlanned => "shipments_not_planned",
            OrderRejection::UnknownShipment => "unknown_shipment",
            OrderRejection::AlreadyShipped => "already_shipped",
            OrderRejection::NotShipped => "not_shipped",
            OrderRejection::TooLateToCancel => "too_late_to_cancel",
            OrderRejection::NotCancelled => "not_cancelled",
            OrderRejection::AlreadyCaptured => "already_captured",
            OrderRejection::AuthorizationVoided => "authorization_voided",
            OrderRejection::CaptureExceedsAuthorization { .. } => "capture_exceeds_authorization",
            OrderRejection::CaptureConflict => "capture_conflict",
            OrderRejection::RefundExceedsCaptured { .. } => "refund_exceeds_captured",
            OrderRejection::RefundConflict => "refund_conflict",
            OrderRejection::PspMismatch => "psp_mismatch",
            OrderRejection::TooManyCaptures { .. } => "too_many_captures",
            OrderRejection::TooManyRefunds { .. } => "too_many_refunds",
            OrderRejection::UnknownReturn => "unknown_return",
            OrderRejection::ReturnPending => "return_pending",
            OrderRejection::TooManyReturns { .. } => "too_many_returns",
            OrderRejection::ReturnLinesInvalid => "return_lines_invalid",
            OrderRejection::NotDelivered { .. } => "not_delivered",
            OrderRejection::ReturnWindowClosed { .. } => "return_window_closed",
            OrderRejection::ReturnSpansShipments => "return_spans_shipments",
            OrderRejection::ReturnExceedsLine { .. } => "return_exceeds_line",
            OrderRejection::ReturnAlreadyDecided => "return_already_decided",
            OrderRejection::ReturnNotApproved => "return_not_approved",
            OrderRejection::ReturnAlreadyReceived => "return_already_received",
            OrderRejection::ReturnNotReceived => "return_not_received",
            OrderRejection::UnknownAppeasement => "unknown_appeasement",
            OrderRejection::TooManyAppeasements { .. } => "too_many_appeasements",
            OrderRejection::AppeasementConflict => "appeasement_conflict",
            OrderRejection::UnknownNotice { .. } => "unknown_notice",
            OrderRejection::TooManyTrackingEvents { .. } => "too_many_tracking_events",
            OrderRejection::PaymentDisputed => "payment_disputed",
            OrderRejection::ChargebackInvalid => "chargeback_invalid",
            OrderRejection::SharedWithOtherSellers => "order_has_other_sellers",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            OrderRejection::UnknownOrder
            | OrderRejection::UnknownShipment
            | OrderRejection::UnknownReturn
            | OrderRejection::UnknownAppeasement => RejectionKind::NotFound,
            OrderRejection::InvalidOrderId
            | OrderRejection::NoLines
            | OrderRejection::TooManyLines { .. }
            | OrderRejection::CurrencyMismatch { .. }
            | OrderRejection::AmountInvalid
            | OrderRejection::LineMismatch { .. }
            | OrderRejection::TotalsMismatch
            | OrderRejection::AuthorizationMismatch
            | OrderRejection::CommissionInvalid { .. }
            | OrderRejection::LineInvalid { .. }
            | OrderRejection::TextInvalid { .. }
            | OrderRejection::TooManyPromotions { .. }
            | OrderRejection::FraudRejected
            | OrderRejection::PspMismatch
            | OrderRejection::ReturnLinesInvalid
            | OrderRejection::ReturnSpansShipments
            | OrderRejection::UnknownNotice { .. }
            | OrderRejection::ChargebackInvalid => RejectionKind::Invalid,
            OrderRejection::AlreadyPlaced
            | OrderRejection::OrderCancelled
            | OrderRejection::OrderRefunded
            | OrderRejection::ShipmentsNotPlanned
            | OrderRejection::AlreadyShipped
            | OrderRejection::NotShipped
            | OrderRejection::TooLateToCancel
            | OrderRejection::SharedWithOtherSellers
            | OrderRejection::NotCancelled
            | OrderRejection::AlreadyCaptured
            | OrderRejection::AuthorizationVoided
            | OrderRejection::CaptureExceedsAuthorization { .. }
            | OrderRejection::CaptureConflict
            | OrderRejection::RefundExceedsCaptured { .. }
            | OrderRejection::RefundConflict
            | OrderRejection::TooManyCaptures { .. }
            | OrderRejection::TooManyRefunds { .. }
            | OrderRejection::ReturnPending
            | OrderRejection::TooManyReturns { .. }
            | OrderRejection::NotDelivered { .. }
            | OrderRejection::ReturnWindowClosed { .. }
            | OrderRejection::ReturnExceedsLine { .. }
            | OrderRejection::ReturnAlreadyDecided
            | OrderRejection::ReturnNotApproved
            | OrderRejection::ReturnAlreadyReceived
            | OrderRejection::ReturnNotReceived
            | OrderRejection::TooManyAppeasements { .. }
            | OrderRejection::AppeasementConflict
            | OrderRejection::TooManyTrackingEvents { .. }
            | OrderRejection::PaymentDisputed => RejectionKind::Conflict,
        }
    }
}
