//! `bazaar sim`: the load tester. Drives a marketplace (one it starts itself, or a running
//! node with `--target`) through a seeded scenario, open or closed loop, then audits it
//! through the API, prints the report and writes it as `report.json`.
//!
//! The pure parts (scenario, catalogue, plan, stats, SLOs, audit checks, table) decide and
//! judge; the rest does I/O: [`embedded`] (processes), [`seed`] (setup), [`load`] and [`ops`]
//! (the requests), [`audit::collect`] (the reads after the load).
//!
//! Invariants: the exit status is 0 when every SLO and every audit check passed, 1 when one
//! failed or the run could not be carried out (the reason printed), 2 for a usage or
//! scenario error (before anything is started); everything started is stopped on every path
//! out, Ctrl-C included.

pub mod audit;
pub mod catalog;
mod embedded;
pub mod http;
pub mod limits;
mod load;
mod ops;
pub mod plan;
pub mod report;
pub mod scenario;
mod seed;
pub mod slo;
pub mod stats;
pub mod table;
pub mod tokens;
mod world;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use self::catalog::Catalogue;
use self::embedded::Embedded;
use self::http::Api;
use self::limits::{CLIENTS_MAX, DURATION_S_MAX, TAG_TRIES_MAX};
use self::report::{Mode, OPERATIONS, Report, Slis};
use self::scenario::Scenario;
use self::tokens::TokensFile;
use self::world::{Tokens, World, lock};

/// `bazaar sim`'s arguments.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// A scenario file (TOML; examples/scenarios/ has several) [default: the built-in
    /// default scenario, examples/scenarios/default.toml].
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// The seed of the schedule and every choice [default: the scenario's].
    #[arg(long)]
    pub seed: Option<u64>,
    /// How long the load runs, in seconds [default: the scenario's].
    #[arg(long)]
    pub duration: Option<f64>,
    /// Closed loop: N clients, each sending its next request when its last was answered
    /// (default: open loop at the scenario's rates).
    #[arg(long)]
    pub clients: Option<u32>,
    /// Writes DIR/report.json (created if missing).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Drives the running node at URL instead of starting one (needs --tokens).
    #[arg(long, requires = "tokens")]
    pub target: Option<String>,
    /// The tokens file for --target (TOML, or JSON by its extension; see README).
    #[arg(long, requires = "target")]
    pub tokens: Option<PathBuf>,
    /// No progress line (there is none either when stderr is not a terminal).
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `bazaar sim`; answers the exit status.
pub fn run(args: SimArgs) -> u8 {
    let prepared = match prepare(&args) {
        Ok(prepared) => prepared,
        Err(error) => {
            eprintln!("error: {error}");
            return 2;
        }
    };
    match execute(&args, prepared) {
        Ok(report) => verdict(&report),
        Err(error) => {
            eprintln!("error: {error:#}");
            1
        }
    }
}

struct Prepared {
    scenario: Scenario,
    seed: u64,
    duration_s: f64,
    tokens: Option<TokensFile>,
}

/// Everything that can be wrong with the command line or the scenario, checked before any
/// process starts.
fn prepare(args: &SimArgs) -> Result<Prepared, String> {
    let mut scenario = match &args.scenario {
        Some(path) => Scenario::load(path).map_err(|e| e.to_string())?,
        None => Scenario::default_scenario(),
    };
    let duration_s = args.duration.unwrap_or(scenario.duration_s);
    if !(duration_s > 0.0 && duration_s <= DURATION_S_MAX as f64) {
        return Err(format!(
            "--duration must be within 0 and {DURATION_S_MAX} s, got {duration_s}"
        ));
    }
    // A shorter run cuts the scenario's windows and drills short, or leaves them out.
    scenario.duration_s = duration_s;
    if let Some(clients) = args.clients
        && !(1..=CLIENTS_MAX).contains(&clients)
    {
        return Err(format!("--clients must be within 1 and {CLIENTS_MAX}, got {clients}"));
    }
    let tokens = args.tokens.as_deref().map(TokensFile::load).transpose()?;
    let seed = args.seed.unwrap_or(scenario.seed);
    Ok(Prepared { scenario, seed, duration_s, tokens })
}

fn execute(args: &SimArgs, prepared: Prepared) -> anyhow::Result<Report> {
    let Prepared { scenario, seed, duration_s, tokens } = prepared;
    let started_at_unix_ms = unix_ms();
    // The embedded marketplace, or the principals of the tokens file.
    let (mut embedded, base, tokens, sellers, customers, tags) = match (&args.target, tokens) {
        (Some(target), Some(file)) => {
            let tokens = Tokens {
                operator: file.operator.clone(),
                sellers: file.sellers.values().cloned().collect(),
                customers: file.customers.values().cloned().collect(),
            };
            let (sellers, customers) =
                (file.sellers.keys().cloned().collect(), file.customers.keys().cloned().collect());
            // Tags from the clock: the first one whose products the node does not know yet.
            let tags = (0..TAG_TRIES_MAX)
                .map(|k| catalog::tag_of(started_at_unix_ms / 1_000 + k))
                .collect();
            (None, target.clone(), tokens, sellers, customers, tags)
        }
        _ => {
            let size = &scenario.catalogue;
            eprintln!("starting a node and two payment simulators...");
            let node = Embedded::start(size.sellers, size.customers)?;
            let (base, tokens) = (node.base.clone(), node.tokens.clone());
            let (sellers, customers) = (node.sellers.clone(), node.customers.clone());
            (Some(node), base, tokens, sellers, customers, vec![catalog::tag_of(seed)])
        }
    };
    let catalogue = Catalogue::build(&scenario, &tags[0], sellers, customers);
    let sizes = plan::Sizes {
        products: scenario.catalogue.products,
        sellers: catalogue.sellers.len() as u32,
        customers: catalogue.customers.len() as u32,
        offers: scenario.catalogue.offers_per_product,
        flash: catalogue.flash,
    };
    let plan = plan::plan(&scenario, seed, duration_s, sizes).map_err(anyhow::Error::msg)?;
    // One thread: the simulator shares the cores with the node it loads, and a second worker
    // would add a futex wake-up and a thread switch to many requests (50 µs of the simulator's
    // CPU per request on one thread, 55 to 59 on two, in BENCHMARKS.md's compare section).
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let outcome = runtime.block_on(async {
        tokio::select! {
            report = async {
                let catalogue = fresh_tag(&base, &tokens, catalogue, &tags, &scenario).await?;
                drive(args, &scenario, seed, &base, tokens, catalogue, plan, started_at_unix_ms).await
            } => report,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    if let Some(node) = embedded.as_mut() {
        node.stop();
    }
    let report = outcome?;
    if let Some(dir) = &args.report {
        write_report(dir, &report)?;
    }
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    args: &SimArgs,
    scenario: &Scenario,
    seed: u64,
    base: &str,
    tokens: Tokens,
    catalogue: Catalogue,
    plan: plan::Plan,
    started_at_unix_ms: u64,
) -> anyhow::Result<Report> {
    let api = Api::new(base)?;
    let psps = providers(&api, &tokens.operator).await?;
    let setup = Arc::new(World::new(
        api.clone(),
        scenario.clone(),
        catalogue.clone(),
        tokens.clone(),
        psps.clone(),
    ));
    let seeding = Instant::now();
    seed::seed(&setup).await?;
    eprintln!(
        "seeded {} products, {} sellers, {} customers in {:.1} s; {} requests planned over {} s",
        catalogue.products.len(),
        catalogue.sellers.len(),
        catalogue.customers.len(),
        seeding.elapsed().as_secs_f64(),
        plan.requests.len(),
        scenario.duration_s
    );
    let world = Arc::new(World::new(api, scenario.clone(), catalogue, tokens, psps));
    let duration = Duration::from_secs_f64(scenario.duration_s);
    let (done, watching) = tokio::sync::watch::channel(false);
    let progress = tokio::spawn(load::progress(world.clone(), args.quiet, watching));
    let drills = tokio::spawn(load::drills(world.clone(), plan.drills.clone()));
    let cpu_before = own_cpu_us();
    match args.clients {
        Some(clients) => load::closed_loop(&world, &plan, duration, clients).await,
        None => load::open_loop(&world, &plan, duration).await,
    }
    let cpu_us = own_cpu_us().saturating_sub(cpu_before);
    drills.abort();
    load::undo(&world, &plan.drills).await;
    let _ = done.send(true);
    let _ = progress.await;
    eprintln!("load done; auditing...");
    let collected = audit::collect::collect(&world, started_at_unix_ms).await;
    let audit = audit::audit(&collected);
    let stats = lock(&world.stats).clone();
    let operations = stats.operations(scenario.duration_s);
    let mode = match args.clients {
        Some(clients) => Mode::Closed { clients },
        None => Mode::Open { rate_per_s: scenario.arrival.rate_per_s },
    };
    Ok(Report {
        scenario: scenario.name().to_string(),
        seed,
        mode,
        target: base.to_string(),
        started_at_unix_ms,
        duration_s: scenario.duration_s,
        slos: slo::verdicts(&scenario.slo, &operations, stats.availability()),
        slis: slis(&world, &stats, audit::inventory_accuracy(&collected.skus)),
        operations,
        timeline: stats.timeline(),
        drills: lock(&world.drills).clone(),
        audit,
        schedule: stats.schedule(),
        sim_cpu_us_per_request: cpu_us as f64 / stats.total.max(1) as f64,
    })
}

/// The catalogue under the first of `tags` whose first ASIN the node does not know (a run
/// against a running node must not meet an earlier run's products).
async fn fresh_tag(
    base: &str,
    tokens: &Tokens,
    catalogue: Catalogue,
    tags: &[String],
    scenario: &Scenario,
) -> anyhow::Result<Catalogue> {
    if tags.len() == 1 {
        return Ok(catalogue);
    }
    let api = Api::new(base)?;
    for tag in tags {
        let path = format!("/v1/products/{}", catalog::asin(tag, 0));
        match api.get(&path, Some(&tokens.customers[0])).await {
            Ok(answer) if answer.status == 404 => {
                let (sellers, customers) = (catalogue.sellers, catalogue.customers);
                return Ok(Catalogue::build(scenario, tag, sellers, customers));
            }
            Ok(answer) if answer.status == 200 => continue,
            other => anyhow::bail!("GET {path}: {}", http::describe(&other)),
        }
    }
    anyhow::bail!("the node knows the products of {} run tags in a row", tags.len())
}

/// The node's payment providers as (name, URL), from `/admin/psp`.
async fn providers(api: &Api, operator: &str) -> anyhow::Result<Vec<(String, String)>> {
    let answer = api.get("/admin/psp", Some(operator)).await;
    let answer = match answer {
        Ok(answer) if answer.status == 200 => answer,
        other => anyhow::bail!("GET /admin/psp as the operator: {}", http::describe(&other)),
    };
    let providers = answer.json["providers"].as_array().context("/admin/psp lists no providers")?;
    Ok(providers
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().into(),
                p["url"].as_str().unwrap_or_default().into(),
            )
        })
        .collect())
}

fn slis(world: &World, stats: &stats::Stats, inventory_accuracy: Option<f64>) -> Slis {
    use std::sync::atomic::Ordering::Relaxed;
    let index = |name: &str| OPERATIONS.iter().position(|op| *op == name).expect("an operation");
    let quantile = |h: &hdrhistogram::Histogram<u64>, q: f64| {
        (!h.is_empty()).then(|| stats::ms(h.value_at_quantile(q)))
    };
    let checkout = stats.latency(index("checkout"));
    let mut browse = stats.latency(index("product_read")).clone();
    browse.add(stats.latency(index("search"))).expect("histograms of the same bounds");
    let business = &world.business;
    let ratio = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
    let orders = business.orders.load(Relaxed);
    let buy_box = lock(&world.buy_box).clone();
    Slis {
        checkout_p95_ms: quantile(checkout, 0.95),
        checkout_p99_ms: quantile(checkout, 0.99),
        browse_p95_ms: quantile(&browse, 0.95),
        browse_p99_ms: quantile(&browse, 0.99),
        conversion_rate: ratio(orders, business.carts_created.load(Relaxed)),
        payment_success_rate: ratio(orders, business.payment_attempts.load(Relaxed)),
        buy_box_p50_ms: quantile(&buy_box, 0.50),
        buy_box_p99_ms: quantile(&buy_box, 0.99),
        inventory_accuracy,
        availability: stats.availability(),
    }
}

/// Prints the report and the reasons it failed; answers the exit status.
fn verdict(report: &Report) -> u8 {
    println!("{}", table::render(report));
    let mut reasons = Vec::new();
    for slo in report.slos.iter().filter(|slo| !slo.ok) {
        reasons.push(format!("SLO {} missed: {} (target {})", slo.name, slo.actual, slo.target));
    }
    for check in report.audit.checks.iter().filter(|check| !check.ok) {
        reasons.push(format!("audit {} failed: {}", check.name, check.detail));
    }
    for reason in &reasons {
        eprintln!("FAIL: {reason}");
    }
    u8::from(!reasons.is_empty())
}

fn write_report(dir: &Path, report: &Report) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let json = serde_json::to_string_pretty(report)?;
    std::fs::write(dir.join("report.json"), json)?;
    std::fs::write(dir.join("report.html"), report::html::render(report))?;
    eprintln!("wrote {} and report.html", dir.join("report.json").display());
    Ok(())
}

/// This process's CPU time so far (user and system), in microseconds.
fn own_cpu_us() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes one rusage into the pointer it is given, which is valid.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        return 0;
    }
    // SAFETY: getrusage succeeded, so it initialised the struct.
    let usage = unsafe { usage.assume_init() };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(usage.ru_utime) + us(usage.ru_stime)
}

fn unix_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).unwrap_or_default()
}
