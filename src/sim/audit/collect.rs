//! Gathering what the audit judges, through the API only, once the load is over: each SKU's
//! level as its seller reads it, every acknowledged order read back by its customer, every
//! checkout key looked up, each customer's order list, the providers' settlement reports
//! (at the URLs `/admin/psp` names), the ledger's trial balance and the reconciliation.
//!
//! Invariant: a read that fails is recorded as unread (`None`), which the checks judge; the
//! collection itself never fails the run. Reads run [`SETUP_CONCURRENCY_MAX`] at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{AuthorizationFacts, Collected, KeyFacts, OrderFacts, SkuFacts};
use crate::sim::catalog::LOCATION;
use crate::sim::http::describe;
use crate::sim::limits::{RECONCILE_WAIT_MS_MAX, SETUP_CONCURRENCY_MAX};
use crate::sim::world::{World, lock};

pub async fn collect(world: &Arc<World>, run_started_unix_ms: u64) -> Collected {
    let (acknowledged, keys, fed) = {
        let learnt = lock(&world.learnt);
        (learnt.acknowledged.clone(), learnt.keys.clone(), learnt.fed.clone())
    };
    // Orders, read back by their customers.
    let reads = each(world, acknowledged.clone(), |world, ack| async move {
        let token = &world.tokens.customers[ack.customer as usize % world.tokens.customers.len()];
        let answer = world.api.get(&format!("/v1/orders/{}", ack.order), Some(token)).await;
        answer.ok().filter(|a| a.status == 200).map(|a| a.json)
    })
    .await;
    let mut orders = Vec::new();
    let mut sold: HashMap<(String, String), u64> = HashMap::new();
    for (ack, read) in acknowledged.iter().zip(reads) {
        let read = read.map(|order| {
            let status = order["status"].as_str().unwrap_or_default().to_string();
            let lines = order["lines"].as_array().cloned().unwrap_or_default();
            // A cancelled order sold nothing, or its units came back (restocked); a refunded
            // one was cancelled after capture, and its units came back too.
            let returned = matches!(status.as_str(), "cancelled" | "refunded")
                || order["restocked"].as_bool().unwrap_or(false);
            if !returned {
                for line in &lines {
                    let at = (str_of(&line["asin"]), str_of(&line["seller"]));
                    *sold.entry(at).or_default() += line["quantity"].as_u64().unwrap_or(0);
                }
            }
            (status, lines.iter().map(|l| str_of(&l["asin"])).collect())
        });
        orders.push(OrderFacts { id: ack.order.clone(), asin: ack.asin.clone(), read });
    }
    // SKU levels, read by their sellers.
    let skus: Vec<(String, String, String, u32, usize)> = world
        .catalogue
        .skus()
        .map(|(n, _, offer)| {
            let product = &world.catalogue.products[n as usize];
            let seller = world.catalogue.sellers[offer.seller as usize].clone();
            (offer.sku.clone(), product.asin.clone(), seller, offer.stock, offer.seller as usize)
        })
        .collect();
    let levels = each(world, skus.clone(), |world, (sku, _, _, _, seller)| async move {
        let path = format!("/v1/seller/inventory/{sku}/{LOCATION}");
        let answer = world.api.get(&path, Some(&world.tokens.sellers[seller])).await.ok()?;
        let level = (answer.status == 200).then_some(answer.json)?;
        Some((level["on_hand"].as_u64()?, level["reserved"].as_u64()?))
    })
    .await;
    let skus = skus
        .into_iter()
        .zip(levels)
        .map(|((sku, asin, seller, seeded, _), level)| SkuFacts {
            fed: fed.contains(&sku),
            sold: sold.get(&(asin, seller)).copied().unwrap_or(0),
            sku,
            seeded,
            level,
        })
        .collect();
    // Keys, looked up; each customer's orders of this run.
    let resolved = each(world, keys.clone(), |world, key| async move {
        let token = &world.tokens.customers[key.customer as usize % world.tokens.customers.len()];
        let answer =
            world.api.get(&format!("/v1/checkouts/{}", key.key), Some(token)).await.ok()?;
        let completed = answer.status == 200 && answer.json["status"] == "completed";
        completed.then(|| str_of(&answer.json["order_id"]))
    })
    .await;
    let customers: BTreeSet<u32> = keys.iter().map(|k| k.customer).collect();
    let customers: Vec<u32> = customers.into_iter().collect();
    let lists = each(world, customers.clone(), |world, customer| async move {
        let token = &world.tokens.customers[customer as usize % world.tokens.customers.len()];
        let answer = world.api.get("/v1/orders", Some(token)).await.ok()?;
        let orders = answer.json.as_array()?.clone();
        let this_run = orders
            .iter()
            .filter(|o| o["placed_at_ms"].as_u64().unwrap_or(0) >= run_started_unix_ms);
        Some(this_run.map(|o| str_of(&o["id"])).collect::<Vec<String>>())
    })
    .await;
    let name =
        |n: u32| world.catalogue.customers[n as usize % world.catalogue.customers.len()].clone();
    let listed: BTreeMap<String, Vec<String>> =
        customers.iter().zip(lists).map(|(n, list)| (name(*n), list.unwrap_or_default())).collect();
    let keys = keys
        .into_iter()
        .zip(resolved)
        .map(|(key, resolved)| KeyFacts {
            customer: name(key.customer),
            key: key.key,
            answered: key.answered,
            resolved,
        })
        .collect();
    Collected {
        skus,
        orders,
        keys,
        listed,
        authorizations: authorizations(world).await,
        trial_balance: trial_balance(world).await,
        reconciliation: reconciliation(world).await,
    }
}

/// `read` of every item, [`SETUP_CONCURRENCY_MAX`] at a time, in the items' order.
async fn each<T, R, F>(
    world: &Arc<World>,
    items: Vec<T>,
    read: impl Fn(Arc<World>, T) -> F,
) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Future<Output = R> + Send + 'static,
{
    let semaphore = Arc::new(tokio::sync::Semaphore::new(SETUP_CONCURRENCY_MAX));
    let mut handles = Vec::with_capacity(items.len());
    for item in items {
        let permit = semaphore.clone().acquire_owned().await.expect("the semaphore stays open");
        let future = read(world.clone(), item);
        handles.push(tokio::spawn(async move {
            let answer = future.await;
            drop(permit);
            answer
        }));
    }
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("an audit read does not panic"));
    }
    out
}

fn str_of(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

async fn authorizations(world: &World) -> Vec<AuthorizationFacts> {
    let mut records = Vec::new();
    for (name, url) in &world.psps {
        let Ok(answer) = world.api.get(&format!("{url}/v1/settlement"), None).await else {
            continue;
        };
        for record in answer.json["authorizations"].as_array().into_iter().flatten() {
            records.push(AuthorizationFacts {
                psp: name.clone(),
                key: str_of(&record["key"]),
                reference: str_of(&record["reference"]),
                status: str_of(&record["status"]),
            });
        }
    }
    records
}

async fn trial_balance(world: &World) -> Option<Vec<(String, i64)>> {
    let answer = world.api.get("/admin/ledger", Some(&world.tokens.operator)).await.ok()?;
    let rows = answer.json["trial_balance"].as_array()?;
    rows.iter().map(|row| Some((str_of(&row["currency"]), row["minor"].as_i64()?))).collect()
}

/// Polls `/admin/reconciliation` until it finds no mismatch (captures trail the answers by a
/// little), or [`RECONCILE_WAIT_MS_MAX`] has passed.
async fn reconciliation(world: &World) -> Result<usize, String> {
    let deadline = Instant::now() + Duration::from_millis(RECONCILE_WAIT_MS_MAX);
    loop {
        let result = world.api.get("/admin/reconciliation", Some(&world.tokens.operator)).await;
        let last = match &result {
            Ok(answer) if answer.status == 200 => {
                let mismatches = answer.json["mismatches"].as_array().cloned().unwrap_or_default();
                if mismatches.is_empty() {
                    return Ok(answer.json["compared"].as_u64().unwrap_or(0) as usize);
                }
                let shown: Vec<String> = mismatches.iter().take(3).map(Value::to_string).collect();
                format!("{} mismatches: {}", mismatches.len(), shown.join("; "))
            }
            other => describe(other),
        };
        if Instant::now() > deadline {
            return Err(last);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
