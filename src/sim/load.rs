//! Running the plan: the open loop (each request starts at its intended instant whatever the
//! earlier ones do), the closed loop (N clients back to back), the drills at their instants,
//! and the live progress line.
//!
//! Invariants: in the open loop the scheduler never waits for an answer, only for a free slot
//! when [`IN_FLIGHT_MAX`] requests are in flight; how late each request left is recorded, so
//! a simulator that falls behind says by how much. Both loops end at the run's duration and
//! then wait for the requests in flight (each has a timeout). A drill's change is undone at
//! its end, and at the latest when the load ends.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::http::{Body, describe};
use super::limits::IN_FLIGHT_MAX;
use super::ops::execute;
use super::plan::{DrillAction, DrillEvent, Plan};
use super::world::{World, lock};

/// Runs the plan open loop over `duration`.
pub async fn open_loop(world: &Arc<World>, plan: &Plan, duration: Duration) {
    let start = world.started;
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT_MAX));
    for planned in &plan.requests {
        let intended = start + Duration::from_micros(planned.at_us);
        if intended >= start + duration {
            break;
        }
        tokio::time::sleep_until(intended.into()).await;
        let Ok(slot) = slots.clone().acquire_owned().await else { break };
        let lag = u64::try_from(intended.elapsed().as_micros()).unwrap_or(u64::MAX);
        world.record_lag(lag);
        let (world, op) = (world.clone(), planned.op);
        tokio::spawn(async move {
            execute(&world, op, intended).await;
            drop(slot);
        });
    }
    tokio::time::sleep_until((start + duration).into()).await;
    let all = u32::try_from(IN_FLIGHT_MAX).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

/// Runs the plan's requests in order with `clients` clients back to back, from the start
/// until `duration` has passed (the plan repeats if they get through it).
pub async fn closed_loop(world: &Arc<World>, plan: &Plan, duration: Duration, clients: u32) {
    let end = world.started + duration;
    let next = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(plan.requests.clone());
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (world, next, requests) = (world.clone(), next.clone(), requests.clone());
        running.spawn(async move {
            while Instant::now() < end && !requests.is_empty() {
                let n = next.fetch_add(1, Ordering::Relaxed) % requests.len();
                let sent = Instant::now();
                world.record_lag(0);
                execute(&world, requests[n].op, sent).await;
            }
        });
    }
    while running.join_next().await.is_some() {}
}

/// Carries out the drills at their instants ([`undo`] ends those the load outlived).
pub async fn drills(world: Arc<World>, events: Vec<DrillEvent>) {
    for event in events {
        tokio::time::sleep_until((world.started + Duration::from_micros(event.at_us)).into()).await;
        act(&world, event.action).await;
    }
}

/// Carries out the ends of drills that had not ended when the load stopped.
pub async fn undo(world: &World, events: &[DrillEvent]) {
    for event in events.iter().filter(|e| !is_start(&e.action)) {
        if world.started + Duration::from_micros(event.at_us) > Instant::now() {
            act(world, event.action).await;
        }
    }
}

fn is_start(action: &DrillAction) -> bool {
    matches!(
        action,
        DrillAction::PspOutage { on: true, .. }
            | DrillAction::AuthOnly { on: true }
            | DrillAction::FeedSpike { on: true }
    )
}

async fn act(world: &World, action: DrillAction) {
    let detail = match action {
        DrillAction::PspOutage { psp, on } => match world.psps.get(psp) {
            Some((name, url)) => {
                let body = Body::Json(json!({"outage": on}));
                let result = world
                    .api
                    .send(Method::PUT, &format!("{url}/admin/knobs"), None, &[], body)
                    .await;
                format!("{name} at {url}: outage {on} ({})", answer_word(&result))
            }
            None => format!("no provider {psp} (the node has {})", world.psps.len()),
        },
        DrillAction::AuthOnly { on } => {
            let body = Body::Json(json!({"auth_only": on}));
            let token = Some(world.tokens.operator.as_str());
            let result = world.api.send(Method::PUT, "/admin/psp", token, &[], body).await;
            format!("auth-only {on} ({})", answer_word(&result))
        }
        DrillAction::FeedSpike { on } => {
            if on { "extra inventory feeds begin" } else { "extra inventory feeds end" }.to_string()
        }
    };
    world.mark(action.name(), detail);
}

fn answer_word(result: &Result<super::http::Answer, super::http::Failure>) -> String {
    match result {
        Ok(answer) if answer.status == 200 => "done".to_string(),
        other => format!("failed: {}", describe(other)),
    }
}

/// Prints a progress line to stderr every second until `done`, when stderr is a terminal and
/// the run is not quiet.
pub async fn progress(world: Arc<World>, quiet: bool, done: tokio::sync::watch::Receiver<bool>) {
    if quiet || !std::io::stderr().is_terminal() {
        return;
    }
    let mut last = (Instant::now(), 0u64);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if *done.borrow() {
            break;
        }
        let (count, errors, p99) = lock(&world.stats).so_far();
        let now = Instant::now();
        let rate = (count - last.1) as f64 / (now - last.0).as_secs_f64();
        last = (now, count);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r  {:>6.1} s  {:>7.0} req/s  {:>7} requests  {:>5} errors  p99 {:>8.1} ms ",
            world.elapsed_s(),
            rate,
            count,
            errors,
            p99
        );
        let _ = err.flush();
    }
    eprintln!();
}
