//! The reads a shopper makes of a large catalogue: product pages, uniformly over the whole
//! catalogue (cold reads) or skewed as real traffic is (Zipf), and searches by a word.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::ensure;
use hyper::{Method, StatusCode};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::catalogue::{NOUNS, asin};
use crate::support::http::Connection;

/// Which products a read picks.
#[derive(Clone)]
pub enum Mix {
    Uniform(usize),
    /// Product `k` (from 0) with probability proportional to `1 / (k + 1)^s`: the cumulative
    /// weights, normalized.
    Zipf(Arc<Vec<f64>>),
}

impl Mix {
    pub fn zipf(count: usize, exponent: f64) -> Mix {
        let mut cumulative = Vec::with_capacity(count);
        let mut sum = 0.0;
        for k in 0..count {
            sum += 1.0 / ((k + 1) as f64).powf(exponent);
            cumulative.push(sum);
        }
        cumulative.iter_mut().for_each(|weight| *weight /= sum);
        Mix::Zipf(Arc::new(cumulative))
    }

    fn pick(&self, rng: &mut ChaCha8Rng) -> usize {
        match self {
            Mix::Uniform(count) => rng.random_range(0..*count),
            Mix::Zipf(cumulative) => {
                let u: f64 = rng.random();
                cumulative.partition_point(|&weight| weight < u).min(cumulative.len() - 1)
            }
        }
    }
}

/// What a read load measured.
pub struct Latencies {
    pub us: hdrhistogram::Histogram<u64>,
    pub per_s: f64,
}

/// `GET /v1/products/{asin}` of products picked by `mix`, over `connections` connections in a
/// closed loop, for `length`. Every answer must be 200.
pub async fn products(
    node: SocketAddr,
    customer: &str,
    mix: Mix,
    connections: usize,
    length: Duration,
) -> anyhow::Result<Latencies> {
    closed_loop(node, customer, connections, length, move |rng| {
        format!("/v1/products/{}", asin(mix.pick(rng)))
    })
    .await
}

/// `GET /v1/search?q=WORD` of a random title word, over `connections` connections.
pub async fn searches(
    node: SocketAddr,
    customer: &str,
    connections: usize,
    length: Duration,
) -> anyhow::Result<Latencies> {
    closed_loop(node, customer, connections, length, |rng| {
        format!("/v1/search?q={}", NOUNS[rng.random_range(0..NOUNS.len())])
    })
    .await
}

async fn closed_loop(
    node: SocketAddr,
    customer: &str,
    connections: usize,
    length: Duration,
    path: impl Fn(&mut ChaCha8Rng) -> String + Clone + Send + 'static,
) -> anyhow::Result<Latencies> {
    let until = Instant::now() + length;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..connections {
        let (customer, path) = (customer.to_string(), path.clone());
        tasks.spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
            let mut http = Connection::open(node).await?;
            let mut us = crate::support::histogram();
            while Instant::now() < until {
                let path = path(&mut rng);
                let sent = Instant::now();
                let reply = http.call(Method::GET, &path, Some(&customer), &[], None).await?;
                us.record(sent.elapsed().as_micros().max(1) as u64)?;
                ensure!(
                    reply.status == StatusCode::OK,
                    "GET {path}: {}: {}",
                    reply.status,
                    String::from_utf8_lossy(&reply.body)
                );
            }
            anyhow::Ok(us)
        });
    }
    let mut us = crate::support::histogram();
    while let Some(joined) = tasks.join_next().await {
        us.add(joined??)?;
    }
    let per_s = us.len() as f64 / length.as_secs_f64();
    Ok(Latencies { us, per_s })
}
