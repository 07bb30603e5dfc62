//! A customer (kind [`kinds::CUSTOMER`], keyed `{tenant}/{customer}`): its profile (name,
//! e-mail, phone), all of it personal data sealed by the vault before the command is made,
//! and whether it was erased.
//!
//! Invariants:
//! - Every field of a profile is sealed ([`Pii::Sealed`]) and at most
//!   [`CUSTOMER_FIELD_BYTES_MAX`] bytes of text before sealing; a clear value is refused, so no
//!   profile event can carry personal data in clear text.
//! - Erasure is final and idempotent: it drops the profile from the state (so no later
//!   snapshot holds even its ciphertext) and refuses every later profile. The vault's key
//!   destruction is what makes the earlier events unreadable.

use bazaar_entity::{Ctx, Decision, Entity, Kind};
use serde::{Deserialize, Serialize};

use crate::kinds;
use crate::limits::{CUSTOMER_FIELD_BYTES_MAX, PII_SEAL_OVERHEAD_BYTES};
use crate::pii::Pii;
use crate::rejection::{Rejection, RejectionKind};

/// What a customer tells about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: Pii,
    pub email: Pii,
    pub phone: Option<Pii>,
}

/// The names a profile's fields are sealed under.
pub mod field {
    pub const NAME: &str = "customer.name";
    pub const EMAIL: &str = "customer.email";
    pub const PHONE: &str = "customer.phone";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerCommand {
    SetProfile(Profile),
    /// Erases the customer's personal data (after the vault destroyed its key).
    Erase,
    Get,
}

/// Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerEvent {
    ProfileSet(Profile),
    Erased { at_ms: u64 },
}

/// Variants are append-only; see [`Rejection`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum CustomerRejection {
    #[error("the customer's personal data was erased: it keeps none again")]
    Erased,
    #[error("a profile field is sealed personal data of at most {max_bytes} bytes: {field}")]
    FieldInvalid { field: String, max_bytes: u32 },
}

impl Rejection for CustomerRejection {
    fn code(&self) -> &'static str {
        match self {
            CustomerRejection::Erased => "customer_erased",
            CustomerRejection::FieldInvalid { .. } => "profile_invalid",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            CustomerRejection::Erased => RejectionKind::Conflict,
            CustomerRejection::FieldInvalid { .. } => RejectionKind::Invalid,
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub profile: Option<Profile>,
    pub erased_at_ms: Option<u64>,
    /// Changes so far.
    pub revision: u64,
}

fn check(profile: &Profile) -> Result<(), CustomerRejection> {
    let fields = [(field::NAME, Some(&profile.name)), (field::EMAIL, Some(&profile.email))];
    for (name, value) in fields.into_iter().chain([(field::PHONE, profile.phone.as_ref())]) {
        let Some(value) = value else { continue };
        if !value.is_sealed()
            || value.encoded_len() > CUSTOMER_FIELD_BYTES_MAX + PII_SEAL_OVERHEAD_BYTES
        {
            let max_bytes = CUSTOMER_FIELD_BYTES_MAX as u32;
            return Err(CustomerRejection::FieldInvalid { field: name.into(), max_bytes });
        }
    }
    Ok(())
}

impl Entity for Customer {
    const KIND: Kind = kinds::CUSTOMER;
    type Command = CustomerCommand;
    type Event = CustomerEvent;
    type Reply = Customer;
    type Rejection = CustomerRejection;

    fn decide(
        &self,
        command: CustomerCommand,
        ctx: &Ctx<'_>,
    ) -> Result<Decision<Self>, CustomerRejection> {
        let events = match command {
            CustomerCommand::Get => Vec::new(),
            CustomerCommand::SetProfile(_) if self.erased_at_ms.is_some() => {
                return Err(CustomerRejection::Erased);
            }
            CustomerCommand::SetProfile(profile) => {
                check(&profile)?;
                if self.profile.as_ref() == Some(&profile) {
                    Vec::new()
                } else {
                    vec![CustomerEvent::ProfileSet(profile)]
                }
            }
            CustomerCommand::Erase if self.erased_at_ms.is_some() => Vec::new(),
            CustomerCommand::Erase => vec![CustomerEvent::Erased { at_ms: ctx.now_ms }],
        };
        let mut after = self.clone();
        events.iter().for_each(|event| after.apply(event));
        Ok((events, after))
    }

    fn apply(&mut self, event: &CustomerEvent) {
        self.revision += 1;
        match event {
            CustomerEvent::ProfileSet(profile) => self.profile = Some(profile.clone()),
            CustomerEvent::Erased { at_ms } => {
                self.profile = None;
                self.erased_at_ms = Some(*at_ms);
            }
        }
    }

    /// Read now and then: nothing to keep in memory.
    fn at_rest(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pii::SEALED_TAG;
    use crate::testing::Harness;

    fn sealed(len: usize) -> Pii {
        let mut bytes = vec![SEALED_TAG, 1];
        bytes.resize(len + PII_SEAL_OVERHEAD_BYTES, 7);
        Pii::Sealed(bytes)
    }

    fn profile() -> Profile {
        Profile { name: sealed(10), email: sealed(20), phone: None }
    }

    #[test]
    fn a_sealed_profile_is_kept_and_setting_it_again_changes_nothing() {
        let mut customer = Harness::<Customer>::new("t/c-1");
        let (events, view) = customer.run(CustomerCommand::SetProfile(profile())).unwrap();
        assert_eq!(events, [CustomerEvent::ProfileSet(profile())]);
        assert_eq!((view.profile, view.revision), (Some(profile()), 1));
        let (events, _) = customer.run(CustomerCommand::SetProfile(profile())).unwrap();
        assert!(events.is_empty());
    }

    #[test]
    fn clear_or_oversized_fields_are_refused() {
        let mut customer = Harness::<Customer>::new("t/c-1");
        let refused = |p: Profile, field: &str| {
            let rejection = CustomerRejection::FieldInvalid {
                field: field.into(),
                max_bytes: CUSTOMER_FIELD_BYTES_MAX as u32,
            };
            (p, rejection)
        };
        for (bad, rejection) in [
            refused(Profile { name: Pii::clear("Ada"), ..profile() }, field::NAME),
            refused(
                Profile { email: sealed(CUSTOMER_FIELD_BYTES_MAX + 1), ..profile() },
                field::EMAIL,
            ),
            refused(Profile { phone: Some(Pii::clear("+44")), ..profile() }, field::PHONE),
        ] {
            assert_eq!(customer.run(CustomerCommand::SetProfile(bad)), Err(rejection));
        }
        let longest = Profile { email: sealed(CUSTOMER_FIELD_BYTES_MAX), ..profile() };
        assert!(customer.run(CustomerCommand::SetProfile(longest)).is_ok());
    }

    #[test]
    fn erasure_drops_the_profile_once_and_refuses_a_new_one() {
        let mut customer = Harness::<Customer>::new("t/c-1");
        customer.run(CustomerCommand::SetProfile(profile())).unwrap();
        customer.now_ms = 5_000;
        let (events, view) = customer.run(CustomerCommand::Erase).unwrap();
        assert_eq!(events, [CustomerEvent::Erased { at_ms: 5_000 }]);
        assert_eq!((view.profile, view.erased_at_ms), (None, Some(5_000)));
        customer.now_ms = 9_000;
        let (events, view) = customer.run(CustomerCommand::Erase).unwrap();
        assert!(events.is_empty());
        assert_eq!(view.erased_at_ms, Some(5_000));
        let again = customer.run(CustomerCommand::SetProfile(profile()));
        assert_eq!(again, Err(CustomerRejection::Erased));
    }
}
