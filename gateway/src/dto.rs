//! The JSON shapes of the API (the OpenAPI document's schemas) and their conversion to and from
//! the domain's types. Request shapes deny unknown fields; conversion errors are problems with
//! a precise code, raised before anything is asked of an entity.

use std::collections::BTreeMap;

use bazaar_actors::product::{
    BuyBox, CatalogDocument, Condition, Fulfilment, Offer, OfferTerms, ProductView, TaxClass,
};
use bazaar_actors::{Currency, IdError, Money};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields;
use crate::problem::{Problem, invalid};

/// An amount in integer minor units (cents) of an ISO 4217 currency, as the server answers it
/// (requests carry a [`PriceDto`] or an [`AmountDto`], bounded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyDto {
    #[schema(example = 1999)]
    pub minor: i64,
    #[schema(example = "EUR")]
    pub currency: String,
}

impl MoneyDto {
    pub fn into_money(self) -> Result<Money, Problem> {
        Ok(Money::new(self.minor, currency(&self.currency)?))
    }
}

impl From<Money> for MoneyDto {
    fn from(money: Money) -> MoneyDto {
        MoneyDto { minor: money.minor, currency: money.currency.to_string() }
    }
}

/// A price in a request: at least one minor unit, at most the marketplace's price limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceDto {
    #[serde(deserialize_with = "fields::price_minor::deserialize")]
    #[schema(schema_with = fields::price_minor::schema, example = 1999)]
    pub minor: i64,
    #[schema(schema_with = fields::currency, example = "EUR")]
    pub currency: String,
}

/// An amount in a request that may be zero (shipping, a threshold), at most the marketplace's
/// price limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmountDto {
    #[serde(deserialize_with = "fields::amount_minor::deserialize")]
    #[schema(schema_with = fields::amount_minor::schema, example = 499)]
    pub minor: i64,
    #[schema(schema_with = fields::currency, example = "EUR")]
    pub currency: String,
}

impl PriceDto {
    pub fn into_money(self) -> Result<Money, Problem> {
        Ok(Money::new(self.minor, currency(&self.currency)?))
    }
}

impl AmountDto {
    pub fn into_money(self) -> Result<Money, Problem> {
        Ok(Money::new(self.minor, currency(&self.currency)?))
    }
}

pub fn currency(code: &str) -> Result<Currency, Problem> {
    Currency::parse(code).map_err(|e| invalid("invalid_currency", e.to_string()))
}

/// A free-text field (an address line, a carrier): trimmed, 1 to `max_bytes` bytes, no control
/// characters; anything else is 422 with `code`.
pub fn text(
    code: &'static str,
    field: &str,
    value: &str,
    max_bytes: usize,
) -> Result<String, Problem> {
    let value = value.trim();
    if value.is_empty() || value.len() > max_bytes || value.chars().any(char::is_control) {
        let detail = format!("{field} must be 1 to {max_bytes} bytes of printable text");
        return Err(invalid(code, detail));
    }
    Ok(value.to_owned())
}

pub fn id<T>(parsed: Result<T, IdError>) -> Result<T, Problem> {
    parsed.map_err(|e| invalid(e.code(), e.to_string()))
}

/// A catalog document, as sellers send it and shoppers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentDto {
    /// Printable text, at most 500 bytes of UTF-8.
    #[schema(schema_with = fields::title)]
    pub title: String,
    /// Printable text, at most 100 bytes of UTF-8.
    #[schema(schema_with = fields::brand)]
    pub brand: String,
    /// From the root down, e.g. `["Electronics", "Audio"]`.
    #[schema(schema_with = fields::category_path)]
    pub category_path: Vec<String>,
    #[serde(default)]
    #[schema(schema_with = fields::attributes)]
    pub attributes: BTreeMap<String, String>,
    /// `https://` URLs, the main image first.
    #[serde(default)]
    #[schema(schema_with = fields::images)]
    pub images: Vec<String>,
    #[serde(default)]
    #[schema(schema_with = fields::description)]
    pub description: String,
    #[serde(default)]
    pub tax_class: TaxClassDto,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaxClassDto {
    #[default]
    Standard,
    Reduced,
    SuperReduced,
    Zero,
    Exempt,
}

impl From<TaxClassDto> for TaxClass {
    fn from(class: TaxClassDto) -> TaxClass {
        match class {
            TaxClassDto::Standard => TaxClass::Standard,
            TaxClassDto::Reduced => TaxClass::Reduced,
            TaxClassDto::SuperReduced => TaxClass::SuperReduced,
            TaxClassDto::Zero => TaxClass::Zero,
            TaxClassDto::Exempt => TaxClass::Exempt,
        }
    }
}

impl From<TaxClass> for TaxClassDto {
    fn from(class: TaxClass) -> TaxClassDto {
        match class {
            TaxClass::Standard => TaxClassDto::Standard,
            TaxClass::Reduced => TaxClassDto::Reduced,
            TaxClass::SuperReduced => TaxClassDto::SuperReduced,
            TaxClass::Zero => TaxClassDto::Zero,
            TaxClass::Exempt => TaxClassDto::Exempt,
        }
    }
}

impl From<DocumentDto> for CatalogDocument {
    fn from(dto: DocumentDto) -> CatalogDocument {
        CatalogDocument {
            title: dto.title,
            brand: dto.brand,
            category_path: dto.category_path,
            attributes: dto.attributes,
            images: dto.images,
            description: dto.description,
            tax_class: dto.tax_class.into(),
        }
    }
}

impl From<&CatalogDocument> for DocumentDto {
    fn from(document: &CatalogDocument) -> DocumentDto {
        DocumentDto {
            title: document.title.clone(),
            brand: document.brand.clone(),
            category_path: document.category_path.clone(),
            attributes: document.attributes.clone(),
            images: document.images.clone(),
            description: document.description.clone(),
            tax_class: document.tax_class.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConditionDto {
    New,
    Used,
    Refurbished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FulfilmentDto {
    /// Shipped by the marketplace from its warehouse.
    Marketplace,
    /// Shipped by the seller.
    Seller,
}

impl From<ConditionDto> for Condition {
    fn from(c: ConditionDto) -> Condition {
        match c {
            ConditionDto::New => Condition::New,
            ConditionDto::Used => Condition::Used,
            ConditionDto::Refurbished => Condition::Refurbished,
        }
    }
}

impl From<Condition> for ConditionDto {
    fn from(c: Condition) -> ConditionDto {
        match c {
            Condition::New => ConditionDto::New,
            Condition::Used => ConditionDto::Used,
            Condition::Refurbished => ConditionDto::Refurbished,
        }
    }
}

impl From<FulfilmentDto> for Fulfilment {
    fn from(f: FulfilmentDto) -> Fulfilment {
        match f {
            FulfilmentDto::Marketplace => Fulfilment::Marketplace,
            FulfilmentDto::Seller => Fulfilment::Seller,
        }
    }
}

impl From<Fulfilment> for FulfilmentDto {
    fn from(f: Fulfilment) -> FulfilmentDto {
        match f {
            Fulfilment::Marketplace => FulfilmentDto::Marketplace,
            Fulfilment::Seller => FulfilmentDto::Seller,
        }
    }
}

/// A seller's offer terms for one product (`PUT /v1/seller/offers/{asin}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferDto {
    /// The seller's SKU; its stock comes from the seller's inventory records.
    #[schema(schema_with = fields::sku)]
    pub sku: String,
    pub price: PriceDto,
    pub shipping: AmountDto,
    pub condition: ConditionDto,
    pub fulfilment: FulfilmentDto,
    #[serde(deserialize_with = "fields::handling_days::deserialize")]
    #[schema(schema_with = fields::handling_days::schema)]
    pub handling_days: u16,
    /// Units available until an inventory feed says otherwise; absent means "what the
    /// seller's inventory of this SKU holds" (so a price change keeps the stock).
    #[serde(default, deserialize_with = "fields::stock_quantity::deserialize_option")]
    #[schema(schema_with = fields::stock_quantity::schema_option)]
    pub available: Option<u32>,
}

/// Offer terms from a request, and whether it left `available` to inventory.
pub struct RequestedTerms {
    pub terms: OfferTerms,
    pub available_unset: bool,
}

impl OfferDto {
    pub fn into_terms(self) -> Result<RequestedTerms, Problem> {
        let available_unset = self.available.is_none();
        let terms = OfferTerms {
            sku: id(bazaar_actors::Sku::parse(&self.sku))?,
            price: self.price.into_money()?,
            shipping: self.shipping.into_money()?,
            condition: self.condition.into(),
            fulfilment: self.fulfilment.into(),
            handling_days: self.handling_days,
            available: self.available.unwrap_or(0),
        };
        Ok(RequestedTerms { terms, available_unset })
    }
}

/// One seller's offer as shoppers see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OfferView {
    pub seller: String,
    pub sku: String,
    pub price: MoneyDto,
    pub shipping: MoneyDto,
    pub landed: MoneyDto,
    pub condition: ConditionDto,
    pub fulfilment: FulfilmentDto,
    pub handling_days: u16,
    pub available: u32,
    /// Whether the offer may win the buy box (in stock, new, seller in good standing).
    pub eligible: bool,
}

impl OfferView {
    /// `offer` on a product whose offers price in `range`.
    pub fn of(offer: &Offer, terms: bazaar_actors::product::ProductTerms) -> OfferView {
        OfferView {
            seller: offer.seller.to_string(),
            sku: offer.terms.sku.to_string(),
            price: offer.terms.price.into(),
            shipping: offer.terms.shipping.into(),
            landed: bazaar_actors::product::landed_price(&offer.terms).into(),
            condition: offer.terms.condition.into(),
            fulfilment: offer.terms.fulfilment.into(),
            handling_days: offer.terms.handling_days,
            available: offer.terms.available,
            eligible: bazaar_actors::product::is_eligible(offer, terms),
        }
    }
}

/// The winning offer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BuyBoxView {
    pub seller: String,
    pub sku: String,
    pub price: MoneyDto,
    pub shipping: MoneyDto,
    pub landed: MoneyDto,
    pub fulfilment: FulfilmentDto,
    pub delivery_days: u16,
    pub available: u32,
}

impl From<&BuyBox> for BuyBoxView {
    fn from(buy_box: &BuyBox) -> BuyBoxView {
        BuyBoxView {
            seller: buy_box.seller.to_string(),
            sku: buy_box.sku.to_string(),
            price: buy_box.price.into(),
            shipping: buy_box.shipping.into(),
            landed: buy_box.landed.into(),
            fulfilment: buy_box.fulfilment.into(),
            delivery_days: buy_box.delivery_days,
            available: buy_box.available,
        }
    }
}

/// A product: its document, the buy box and every offer (eligible ones in buy-box order).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductDto {
    pub asin: String,
    pub document: DocumentDto,
    #[schema(value_type = String)]
    pub currency: String,
    /// Grows with every change; fit for an ETag.
    pub revision: u64,
    pub buy_box: Option<BuyBoxView>,
    pub offers: Vec<OfferView>,
}

impl ProductDto {
    pub fn new(asin: &str, view: &ProductView) -> ProductDto {
        ProductDto {
            asin: asin.to_string(),
            document: (&view.document).into(),
            currency: view.currency.to_string(),
            revision: view.revision,
            buy_box: view.buy_box.as_ref().map(BuyBoxView::from),
            offers: {
                let terms = view.terms();
                view.offers.iter().map(|offer| OfferView::of(offer, terms)).collect()
            },
        }
    }
}

/// `POST /v1/seller/products`: a new product, or a new version of its document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProductDto {
    /// Ten capitals or digits.
    #[schema(schema_with = fields::asin, example = "B000000001")]
    pub asin: String,
    /// The marketplace currency of the product's offers; fixed by the first document.
    #[schema(schema_with = fields::currency, example = "EUR")]
    pub currency: String,
    pub document: DocumentDto,
}
