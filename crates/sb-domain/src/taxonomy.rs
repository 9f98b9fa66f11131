//! The default taxonomy of PRODUCT.md: three categories, fifteen intents, and the severity
//! scale of `safety_compliance`.
//!
//! Intents are a closed enum because the decision policy, the workflows and the SLA rules are
//! written against them; a classifier trained on another label set (Banking77, say) reports
//! its labels as strings and is mapped onto this taxonomy only by the default model.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown {kind} label `{label}`")]
pub struct UnknownLabel {
    pub kind: &'static str,
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Informational,
    ServiceAction,
    SafetyCompliance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    ProductInfo,
    PolicyInfo,
    StoreInfo,
    Other,
    TrackOrder,
    CancelOrder,
    ChangeOrder,
    ReturnRefund,
    DamagedOrWrongItem,
    PaymentIssue,
    AccountUpdate,
    Complaint,
    AdverseReaction,
    ProductHazard,
    PrivacyRequest,
}

/// Severity of a `safety_compliance` message, with its first-response SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Emergency now: 15 minutes.
    Urgent,
    /// Actual harm, not immediately life-threatening: 2 hours.
    High,
    /// Concern without harm: 24 hours.
    Standard,
}

impl Category {
    pub const ALL: [Category; 3] = [Category::Informational, Category::ServiceAction, Category::SafetyCompliance];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Informational => "informational",
            Category::ServiceAction => "service_action",
            Category::SafetyCompliance => "safety_compliance",
        }
    }
}

impl Intent {
    pub const ALL: [Intent; 15] = [
        Intent::ProductInfo,
        Intent::PolicyInfo,
        Intent::StoreInfo,
        Intent::Other,
        Intent::TrackOrder,
        Intent::CancelOrder,
        Intent::ChangeOrder,
        Intent::ReturnRefund,
        Intent::DamagedOrWrongItem,
        Intent::PaymentIssue,
        Intent::AccountUpdate,
        Intent::Complaint,
        Intent::AdverseReaction,
        Intent::ProductHazard,
        Intent::PrivacyRequest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Intent::ProductInfo => "product_info",
            Intent::PolicyInfo => "policy_info",
            Intent::StoreInfo => "store_info",
            Intent::Other => "other",
            Intent::TrackOrder => "track_order",
            Intent::CancelOrder => "cancel_order",
            Intent::ChangeOrder => "change_order",
            Intent::ReturnRefund => "return_refund",
            Intent::DamagedOrWrongItem => "damaged_or_wrong_item",
            Intent::PaymentIssue => "payment_issue",
            Intent::AccountUpdate => "account_update",
            Intent::Complaint => "complaint",
            Intent::AdverseReaction => "adverse_reaction",
            Intent::ProductHazard => "product_hazard",
            Intent::PrivacyRequest => "privacy_request",
        }
    }

    pub fn category(self) -> Category {
        match self {
            Intent::ProductInfo | Intent::PolicyInfo | Intent::StoreInfo | Intent::Other => Category::Informational,
            Intent::TrackOrder
            | Intent::CancelOrder
            | Intent::ChangeOrder
            | Intent::ReturnRefund
            | Intent::DamagedOrWrongItem
            | Intent::PaymentIssue
            | Intent::AccountUpdate
            | Intent::Complaint => Category::ServiceAction,
            Intent::AdverseReaction | Intent::ProductHazard | Intent::PrivacyRequest => Category::SafetyCompliance,
        }
    }

    pub fn is_safety(self) -> bool {
        self.category() == Category::SafetyCompliance
    }
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Urgent, Severity::High, Severity::Standard];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Urgent => "urgent",
            Severity::High => "high",
            Severity::Standard => "standard",
        }
    }

    /// First-response deadline in minutes, as PRODUCT.md sets it.
    pub fn first_response_minutes(self) -> u32 {
        match self {
            Severity::Urgent => 15,
            Severity::High => 120,
            Severity::Standard => 24 * 60,
        }
    }
}

macro_rules! label_enum_traits {
    ($ty:ty, $kind:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownLabel;
            fn from_str(label: &str) -> Result<Self, UnknownLabel> {
                let wanted = label.trim();
                <$ty>::ALL
                    .into_iter()
                    .find(|candidate| candidate.as_str().eq_ignore_ascii_case(wanted))
                    .ok_or_else(|| UnknownLabel { kind: $kind, label: label.to_string() })
            }
        }
    };
}

label_enum_traits!(Category, "category");
label_enum_traits!(Intent, "intent");
label_enum_traits!(Severity, "severity");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_through_strings_and_serde() {
        for intent in Intent::ALL {
            assert_eq!(intent.as_str().parse::<Intent>(), Ok(intent));
            let json = serde_json::to_string(&intent).unwrap();
            assert_eq!(json, format!("\"{}\"", intent.as_str()));
        }
        assert!("refund_please".parse::<Intent>().is_err());
    }

    #[test]
    fn every_category_has_intents_and_safety_has_three() {
        for category in Category::ALL {
            assert!(Intent::ALL.iter().any(|intent| intent.category() == category));
        }
        assert_eq!(Intent::ALL.iter().filter(|intent| intent.is_safety()).count(), 3);
    }
}
