//! The gateway bench's clients and its baseline: closed-loop loads taking turns with their
//! baseline, the open-loop search schedule, the process's CPU time, and the bare axum app the
//! node is compared with.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};

use crate::support::http::{connect, exchange, request};
use crate::{CONNECTIONS, SEARCH_PER_S, Sizes, support};

/// The body of a cart hold, as the bare handler parses it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Hold {
    ttl_s: Option<u64>,
}

#[derive(serde::Serialize)]
struct Hello {
    hello: &'static str,
    ttl_s: Option<u64>,
}

/// The baseline: `GET /hello` answers a small JSON; `POST /hello` parses a hold's body.
fn hello_app() -> axum::Router {
    use axum::Json;
    axum::Router::new().route(
        "/hello",
        axum::routing::get(|| async { Json(Hello { hello: "world", ttl_s: None }) }).post(
            |Json(hold): Json<Hold>| async move {
                (StatusCode::CREATED, Json(Hello { hello: "world", ttl_s: hold.ttl_s }))
            },
        ),
    )
}

/// Serves the baseline on a free loopback port (with the peer's address, as the node's
/// server gives its handlers).
pub async fn serve_baseline() -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let service = hello_app().into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    Ok(address)
}

pub fn get(path: &str, token: Option<&str>) -> Request<Full<Bytes>> {
    request(Method::GET, path, token, &[], Bytes::new())
}

pub fn post(path: &str, token: Option<&str>, body: &'static str) -> Request<Full<Bytes>> {
    request(Method::POST, path, token, &[], Bytes::from_static(body.as_bytes()))
}

/// A closed-loop load: `make(i)` is the `i`th request sent to `address` (counted over every
/// slice), `None` once there is nothing left to send.
pub struct Load {
    name: &'static str,
    address: SocketAddr,
    expect: StatusCode,
    make: Arc<dyn Fn(usize) -> Option<Request<Full<Bytes>>> + Send + Sync>,
    next: Arc<AtomicUsize>,
}

impl Load {
    pub fn new(
        name: &'static str,
        address: SocketAddr,
        expect: StatusCode,
        make: impl Fn(usize) -> Option<Request<Full<Bytes>>> + Send + Sync + 'static,
    ) -> Load {
        Load { name, address, expect, make: Arc::new(make), next: Arc::default() }
    }
}

/// What a closed-loop load measured, over all its slices.
pub struct Measured {
    elapsed: Duration,
    /// CPU time of the whole process (client, server, background threads) meanwhile.
    cpu: Duration,
    /// Microseconds per request.
    pub latency: Histogram<u64>,
}

impl Measured {
    pub fn per_s(&self) -> f64 {
        self.latency.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// Requests per CPU second: what `per_s` would be if the process had the machine alone
    /// and were bound by CPU only.
    pub fn per_cpu_s(&self) -> f64 {
        self.latency.len() as f64 / self.cpu.as_secs_f64()
    }
}

/// Runs `baseline` and `subject` in turns (quick 3 rounds of 1 s each, full 5 of 2 s), so a
/// change in the machine's other load falls on both alike.
pub async fn alternate(
    baseline: &Load,
    subject: &Load,
    sizes: &Sizes,
) -> anyhow::Result<(Measured, Measured)> {
    let turn = sizes.run / sizes.rounds;
    let mut measured = [baseline, subject].map(|_| Measured {
        elapsed: Duration::ZERO,
        cpu: Duration::ZERO,
        latency: support::histogram(),
    });
    for _ in 0..sizes.rounds {
        let mut exhausted = false;
        for (load, measured) in [baseline, subject].into_iter().zip(&mut measured) {
            let cpu = process_cpu();
            let slice = closed_loop(load, turn).await?;
            let cpu = process_cpu() - cpu;
            let requests = slice.latency.len() as f64;
            eprintln!(
                "    {:<16} {:>8.0} per s {:>8.0} per CPU s",
                load.name,
                requests / slice.elapsed.as_secs_f64(),
                requests / cpu.as_secs_f64()
            );
            measured.elapsed += slice.elapsed;
            measured.cpu += cpu;
            measured.latency.add(slice.latency)?;
            exhausted = slice.exhausted;
        }
        // The subject has nothing left to send: both have had the same turns.
        if exhausted {
            break;
        }
    }
    let [baseline, subject] = measured;
    Ok((baseline, subject))
}

/// One slice of a closed-loop load.
struct Slice {
    elapsed: Duration,
    /// Microseconds per request.
    latency: Histogram<u64>,
    /// The load had nothing left to send before the time was up.
    exhausted: bool,
}

/// `CONNECTIONS` connections each send the load's next request as soon as the last one is
/// answered, until `run` has passed or the load has nothing left.
async fn closed_loop(load: &Load, run: Duration) -> anyhow::Result<Slice> {
    let mut connections = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        connections.push(connect(load.address).await?);
    }
    let started = Instant::now();
    let until = started + run;
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|mut connection| {
            let (make, next, expect) = (load.make.clone(), load.next.clone(), load.expect);
            tokio::spawn(async move {
                let mut latency = support::histogram();
                while Instant::now() < until {
                    let Some(request) = make(next.fetch_add(1, Ordering::Relaxed)) else {
                        return anyhow::Ok((latency, true));
                    };
                    let began = Instant::now();
                    exchange(&mut connection, request, expect).await?;
                    latency.saturating_record(began.elapsed().as_micros() as u64);
                }
                anyhow::Ok((latency, false))
            })
        })
        .collect();
    let (mut latency, mut exhausted) = (support::histogram(), false);
    for task in tasks {
        let (task_latency, task_exhausted) = task.await??;
        latency.add(task_latency)?;
        exhausted |= task_exhausted;
    }
    Ok(Slice { elapsed: started.elapsed(), latency, exhausted })
}

/// Sends `paths` round-robin at `SEARCH_PER_S` for `run` over `CONNECTIONS` connections; the
/// latency of each request counts from when the schedule says it should have been sent.
pub async fn open_loop(
    address: SocketAddr,
    token: &str,
    paths: Vec<String>,
    run: Duration,
) -> anyhow::Result<Histogram<u64>> {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<(Instant, usize)>();
    let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
    let (paths, token) = (Arc::new(paths), Arc::new(token.to_string()));
    let mut workers = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let mut connection = connect(address).await?;
        let (receiver, paths, token) = (receiver.clone(), paths.clone(), token.clone());
        workers.push(tokio::spawn(async move {
            let mut latency = support::histogram();
            loop {
                let next = receiver.lock().await.recv().await;
                let Some((scheduled, i)) = next else { return anyhow::Ok(latency) };
                exchange(&mut connection, get(&paths[i], Some(&token)), StatusCode::OK).await?;
                latency.saturating_record(scheduled.elapsed().as_micros() as u64);
            }
        }));
    }
    let interval = Duration::from_secs(1) / SEARCH_PER_S;
    let count = (run.as_secs_f64() * f64::from(SEARCH_PER_S)) as u32;
    let start = Instant::now() + Duration::from_millis(10);
    for k in 0..count {
        let scheduled = start + interval * k;
        tokio::time::sleep_until(scheduled.into()).await;
        sender.send((scheduled, k as usize % paths.len()))?;
    }
    drop(sender);
    let mut latency = support::histogram();
    for worker in workers {
        latency.add(worker.await??)?;
    }
    Ok(latency)
}

/// CPU time this process has used, user and system, all threads.
fn process_cpu() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole rusage into the pointer it is given, which is valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// A random index below `len` for the `i`th request, the same in every run (splitmix64).
pub fn pick(i: usize, len: usize) -> usize {
    let mut x = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((x ^ (x >> 31)) % len as u64) as usize
}
