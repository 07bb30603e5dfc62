//! The gateway bench's node: `bazaar::node::Node`, the assembly `bazaar serve` runs, with
//! limits that neither throttle nor shed the bench, and what the bench sets up in it through
//! the engine (the synthetic catalog, the hot SKU and its carts) and checks afterwards.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use bazaar::node::{Node, NodeConfig, NodeJournal};
use bazaar_actors::cart::{Cart, CartCommand, CartOwner, OfferChoice};
use bazaar_actors::inventory::{Inventory, InventoryCommand, InventoryId};
use bazaar_actors::keys;
use bazaar_actors::product::{
    CatalogDocument, Condition, Fulfilment, OfferTerms, Product, ProductCommand, TaxClass,
};
use bazaar_actors::seller::{Seller, SellerCommand, SellerScore};
use bazaar_actors::{Asin, Currency, CustomerId, LocationCode, Money, Quantity, SellerId, Sku};
use bazaar_engine::{Engine, EngineConfig, Entity, NodeId, ShardTable};
use bazaar_gateway::GatewayConfig;
use bazaar_gateway::config::PricingConfig;
use bazaar_persistence::JournalConfig;
use bazaar_services::catalog::Catalog;
use bazaar_services::search::SearchDoc;

use crate::{CARTS, CUSTOMER, SETTLE_MAX, Sizes, TENANT};

/// Tasks asking the engine at once while the bench sets up.
const SETUP_TASKS: usize = 64;

/// Sellers the catalog's offers are spread over, per fulfilment channel.
const CATALOG_SELLERS: usize = 20;

const HOT_ASIN: &str = "BHOTSKU001";
const HOT_SELLER: &str = "seller-hot";
const HOT_SKU: &str = "HOT-SKU-1";
const HOT_LOCATION: &str = "FRA1";
const HOT_PRICE_MINOR: i64 = 1_999;
/// `QUANTITY_MAX`: the hot SKU never runs out.
const HOT_ON_HAND: u32 = 1_000_000_000;

/// The node under test and what the bench needs of it.
pub struct BenchNode {
    node: Node,
    /// The bearer token of `customer-1`, the principal of every request.
    token: String,
}

impl BenchNode {
    /// Starts a node as `serve` does, with limits that neither throttle nor shed the bench.
    pub async fn start(dir: &Path, sizes: &Sizes) -> anyhow::Result<BenchNode> {
        let unthrottled = GatewayConfig {
            tenant_requests_per_s: 100_000_000,
            tenant_burst: 100_000_000,
            ..GatewayConfig::default()
        };
        let node = Node::start(NodeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.to_path_buf(),
            journal: NodeJournal::Sled(JournalConfig::new(dir.join("journal"))),
            engine: EngineConfig {
                node: NodeId(1),
                active_entities_max: 2 * (sizes.catalog + CARTS) + 10_000,
                shard_asks_in_flight_max: 1 << 16,
                ..EngineConfig::default()
            },
            table: ShardTable::round_robin(256, &[NodeId(1)]),
            gateway: unthrottled,
            pricing: PricingConfig::default(),
            payments: Default::default(),
            checkout: Default::default(),
            catalog: Default::default(),
            sellers: Default::default(),
            returns: Default::default(),
            notifications: Default::default(),
            shipping: Default::default(),
            master_key: None,
            metrics: bazaar::node::install_metrics()?,
        })
        .await?;
        let token = bazaar::testkit::initial_tokens(dir)
            .remove(CUSTOMER)
            .with_context(|| format!("no initial token for {CUSTOMER}"))?;
        Ok(BenchNode { node, token })
    }

    /// Where the node's gateway listens.
    pub fn address(&self) -> SocketAddr {
        self.node.address()
    }

    pub fn catalog(&self) -> &Catalog {
        self.node.catalog()
    }

    fn engine(&self) -> &Engine {
        self.node.engine()
    }

    /// The bearer token of `customer-1`.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Creates every product of `docs` with its offers, and answers the ASINs that have a buy
    /// box once the read models show every product.
    pub async fn load_catalog(&self, docs: Arc<Vec<SearchDoc>>) -> anyhow::Result<Vec<Asin>> {
        for n in 0..CATALOG_SELLERS {
            for prefix in ["seller-m", "seller-s"] {
                self.register_seller(&format!("{prefix}{n}")).await?;
            }
        }
        let engine = self.engine().clone();
        let loading = docs.clone();
        concurrently(docs.len(), move |i| {
            let (engine, docs) = (engine.clone(), loading.clone());
            async move { load_product(&engine, &docs[i], i).await }
        })
        .await?;
        let asins: Vec<Asin> =
            docs.iter().map(|doc| Asin::parse(&doc.asin)).collect::<Result<_, _>>()?;
        let deadline = Instant::now() + SETTLE_MAX;
        loop {
            let shown =
                asins.iter().filter(|a| self.catalog().product(TENANT, a).is_some()).count();
            if shown == asins.len() {
                break;
            }
            ensure!(Instant::now() < deadline, "{shown} of {} products shown", asins.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let with_buy_box: Vec<Asin> = asins
            .into_iter()
            .filter(|asin| {
                self.catalog().product(TENANT, asin).is_some_and(|v| v.buy_box.is_some())
            })
            .collect();
        ensure!(!with_buy_box.is_empty(), "no product has a buy box");
        Ok(with_buy_box)
    }

    async fn register_seller(&self, seller: &str) -> anyhow::Result<()> {
        let key = keys::seller(TENANT, &SellerId::parse(seller)?);
        let command = SellerCommand::Register { name: seller.to_string() };
        ask::<Seller>(self.engine(), &key, command).await?;
        Ok(())
    }

    /// The hot product (one seller's offer on one SKU stocked at one location) and [`CARTS`]
    /// carts of `customer-1`, each with 1 unit of it, once the read models show the buy box
    /// and the stock a reservation reads.
    pub async fn hot_sku_carts(&self) -> anyhow::Result<()> {
        let (asin, seller, sku) =
            (Asin::parse(HOT_ASIN)?, SellerId::parse(HOT_SELLER)?, Sku::parse(HOT_SKU)?);
        self.register_seller(HOT_SELLER).await?;
        let product = keys::product(TENANT, &asin);
        let document = CatalogDocument {
            title: "Hot deal wireless headphones".into(),
            brand: "Zenkor".into(),
            category_path: vec!["Electronics".into(), "Audio".into()],
            description: "The one everybody wants today".into(),
            ..CatalogDocument::default()
        };
        let by = seller.clone();
        let create = ProductCommand::CreateOrUpdateDocument {
            document,
            currency: eur(),
            by,
            required: Vec::new(),
        };
        ask::<Product>(self.engine(), &product, create).await?;
        let terms = offer_terms(sku.clone(), HOT_PRICE_MINOR, Fulfilment::Marketplace, HOT_ON_HAND);
        let offer = ProductCommand::PutOffer {
            seller: seller.clone(),
            terms,
            score: SellerScore::default(),
        };
        ask::<Product>(self.engine(), &product, offer).await?;
        let location = InventoryId::new(sku.clone(), LocationCode::parse(HOT_LOCATION)?);
        let stock = InventoryCommand::SetOnHand { quantity: HOT_ON_HAND, feed_seq: 1 };
        ask::<Inventory>(self.engine(), &keys::inventory(TENANT, &seller, &location), stock)
            .await?;
        let deadline = Instant::now() + SETTLE_MAX;
        while self.catalog().stock_of(TENANT, &seller, &sku).is_empty()
            || self.catalog().product(TENANT, &asin).is_none_or(|view| view.buy_box.is_none())
        {
            ensure!(Instant::now() < deadline, "the hot SKU never reached the read models");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let engine = self.engine().clone();
        concurrently(CARTS, move |i| {
            let (engine, asin) = (engine.clone(), asin.clone());
            async move {
                let key = keys::cart(TENANT, &cart_id(i));
                let owner = CartOwner::Customer(CustomerId::parse(CUSTOMER)?);
                ask::<Cart>(&engine, &key, CartCommand::Create { owner, currency: eur() }).await?;
                let line = CartCommand::AddLine {
                    asin,
                    offer: OfferChoice::BuyBox,
                    quantity: Quantity::new(1).context("one unit")?,
                    seen_unit_price: Money::new(HOT_PRICE_MINOR, eur()),
                    seen_available: true,
                };
                ask::<Cart>(&engine, &key, line).await?;
                Ok(())
            }
        })
        .await
    }

    /// Every answered hold is a unit reserved on the hot SKU, none more.
    pub async fn check_hot_sku(&self, held: u64) -> anyhow::Result<()> {
        let seller = SellerId::parse(HOT_SELLER)?;
        let location = InventoryId::new(Sku::parse(HOT_SKU)?, LocationCode::parse(HOT_LOCATION)?);
        let key = keys::inventory(TENANT, &seller, &location);
        let reply = ask::<Inventory>(self.engine(), &key, InventoryCommand::Get).await?;
        ensure!(
            u64::from(reply.stock.reserved) == held,
            "{held} holds answered, {} units reserved",
            reply.stock.reserved
        );
        Ok(())
    }
}

/// One product of the synthetic catalog: its document, then an offer per fulfilment channel
/// when it has a price (the second a little dearer), in stock or not as the catalog says.
async fn load_product(engine: &Engine, doc: &SearchDoc, i: usize) -> anyhow::Result<()> {
    let key = keys::product(TENANT, &Asin::parse(&doc.asin)?);
    let document = CatalogDocument {
        title: doc.title.clone(),
        brand: doc.brand.clone(),
        category_path: doc.category_path.clone(),
        images: vec![format!("https://img.example.com/{}.jpg", doc.asin)],
        description: doc.description.clone(),
        tax_class: TaxClass::Standard,
        ..CatalogDocument::default()
    };
    let by = SellerId::parse("seller-catalog")?;
    let create = ProductCommand::CreateOrUpdateDocument {
        document,
        currency: eur(),
        by,
        required: Vec::new(),
    };
    ask::<Product>(engine, &key, create).await?;
    let Some(price_minor) = doc.price_minor else { return Ok(()) };
    for (n, channel) in doc.fulfilment.iter().enumerate() {
        let (fulfilment, prefix) = match channel.as_str() {
            "marketplace" => (Fulfilment::Marketplace, "seller-m"),
            _ => (Fulfilment::Seller, "seller-s"),
        };
        let seller = SellerId::parse(&format!("{prefix}{}", i % CATALOG_SELLERS))?;
        let sku = Sku::parse(&format!("{}-{n}", doc.asin))?;
        let available = if doc.in_stock { 100 } else { 0 };
        let terms = offer_terms(sku, price_minor + 100 * n as i64, fulfilment, available);
        let offer = ProductCommand::PutOffer { seller, terms, score: SellerScore::default() };
        ask::<Product>(engine, &key, offer).await?;
    }
    Ok(())
}

fn offer_terms(sku: Sku, price_minor: i64, fulfilment: Fulfilment, available: u32) -> OfferTerms {
    OfferTerms {
        sku,
        price: Money::new(price_minor, eur()),
        shipping: Money::zero(eur()),
        condition: Condition::New,
        fulfilment,
        handling_days: 2,
        available,
    }
}

fn eur() -> Currency {
    Currency::parse("EUR").expect("EUR is a currency")
}

pub fn cart_id(n: usize) -> String {
    format!("c-hot{n}")
}

/// An ask that must be accepted.
async fn ask<E: Entity>(
    engine: &Engine,
    id: &str,
    command: E::Command,
) -> anyhow::Result<E::Reply> {
    match engine.ask::<E>(id, command).await {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(rejection)) => bail!("{} {id} refused: {rejection:?}", E::KIND.name),
        Err(error) => Err(error).with_context(|| format!("{} {id}", E::KIND.name)),
    }
}

/// Runs `work(i)` for every `i` below `n`, `SETUP_TASKS` at a time.
async fn concurrently<F, Fut>(n: usize, work: F) -> anyhow::Result<()>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let (next, work) = (Arc::new(AtomicUsize::new(0)), Arc::new(work));
    let tasks: Vec<_> = (0..SETUP_TASKS)
        .map(|_| {
            let (next, work) = (next.clone(), work.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return anyhow::Ok(());
                    }
                    work(i).await?;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}
