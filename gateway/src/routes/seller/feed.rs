//! Inventory feeds: NDJSON, one SKU-location quantity per line, applied in file order per
//! SKU and location, answered with counts and the refused lines (bounded). What every feed
//! shares (its lines, their grouping and concurrency, the answer) lives here too.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::inventory::{OnHandDto, set_on_hand};
use crate::auth::Principal;
use crate::extract::Ndjson;
use crate::json::reply;
use crate::limits::{
    FEED_BODY_BYTES_MAX, FEED_CONCURRENCY_MAX, FEED_DETAIL_BYTES_MAX, FEED_LINES_MAX,
    FEED_REFUSALS_BYTES_MAX,
};
use crate::openapi::routes;
use crate::problem::{Problem, ProblemKind, bad_request, invalid};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    // A feed may be larger than any other body.
    OpenApiRouter::new()
        .routes(routes!(inventory_feed))
        .layer(axum::extract::DefaultBodyLimit::max(FEED_BODY_BYTES_MAX))
}

/// One line of an inventory feed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedLine {
    #[schema(schema_with = crate::fields::sku)]
    pub sku: String,
    #[schema(schema_with = crate::fields::location)]
    pub location: String,
    #[serde(deserialize_with = "crate::fields::stock_quantity::deserialize")]
    #[schema(schema_with = crate::fields::stock_quantity::schema)]
    pub quantity: u32,
    #[serde(deserialize_with = "crate::fields::feed_seq::deserialize")]
    #[schema(schema_with = crate::fields::feed_seq::schema)]
    pub feed_seq: u64,
}

/// The outcome of one feed line.
#[derive(Debug)]
pub struct FeedLineResult {
    /// From 1.
    pub line: usize,
    /// The HTTP status the line would have had on its own.
    pub status: u16,
    pub code: Option<String>,
    pub detail: Option<String>,
}

/// A feed's answer: how many lines were applied and refused, and which were refused (each
/// line stands on its own: a refused line does not stop the others). The answer's size is
/// bounded whatever the feed's length, so it can be stored under an `Idempotency-Key` and
/// replayed as it was: accepted lines are counted, not listed (read their stock back with
/// `GET /v1/seller/inventory/{sku}/{location}`), and refused lines are listed in file order
/// until the answer reaches its bound, the rest counted in `refused_lines_omitted`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedAnswer {
    /// Lines applied.
    pub accepted: usize,
    /// Lines refused.
    pub refused: usize,
    /// The first refused lines, in file order.
    pub refused_lines: Vec<RefusedLine>,
    /// Refused lines past the last one listed: fix the listed ones and send the feed again
    /// (lines already applied are then stale, and refused as such).
    pub refused_lines_omitted: usize,
}

/// One refused line of a feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefusedLine {
    /// From 1, counting blank lines.
    pub line: usize,
    /// The HTTP status the line would have had on its own.
    pub status: u16,
    /// The problem code the line would have had on its own.
    pub code: String,
    /// Why, cut to at most 200 bytes.
    pub detail: String,
}

/// The answer to a feed whose lines ended as `results` (in any order).
fn feed_answer(mut results: Vec<FeedLineResult>) -> FeedAnswer {
    results.sort_by_key(|result| result.line);
    let accepted = results.iter().filter(|r| r.status == 200).count();
    let mut answer = FeedAnswer {
        accepted,
        refused: results.len() - accepted,
        refused_lines: Vec::new(),
        refused_lines_omitted: 0,
    };
    let mut bytes = 0;
    for result in results.into_iter().filter(|r| r.status != 200) {
        let refused = RefusedLine {
            line: result.line,
            status: result.status,
            code: result.code.unwrap_or_default(),
            detail: bazaar_actors::text::prefix(
                &result.detail.unwrap_or_default(),
                FEED_DETAIL_BYTES_MAX,
            )
            .to_owned(),
        };
        let size = serde_json::to_vec(&refused).map_or(usize::MAX, |json| json.len() + 1);
        if answer.refused_lines_omitted == 0 && bytes + size <= FEED_REFUSALS_BYTES_MAX {
            bytes += size;
            answer.refused_lines.push(refused);
        } else {
            answer.refused_lines_omitted += 1;
        }
    }
    answer
}

/// The feed's route (the `utoipa::path` below spells it again: attributes take literals only;
/// a test checks they agree).
pub const FEED_PATH: &str = "/v1/seller/inventory:feed";

/// Applies an NDJSON warehouse feed, one `{"sku","location","quantity","feed_seq"}` per line.
/// Every line is answered on its own; a bad line does not sink the others. Lines for the same
/// SKU and location are applied in file order.
#[utoipa::path(post, path = "/v1/seller/inventory:feed", tag = "seller",
    request_body(content = Vec<FeedLine>, content_type = "application/x-ndjson",
        description = "NDJSON: one `FeedLine` object per line (the schema shows the lines as an array)"),
    responses((status = 200, body = FeedAnswer), (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "feed_empty, feed_too_long", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn inventory_feed(
    State(state): State<AppState>,
    principal: Principal,
    Ndjson(body): Ndjson,
) -> Result<Response, Problem> {
    principal.seller()?;
    let lines = lines_of(&body)?;
    let key = |line: &FeedLine| (line.sku.clone(), line.location.clone());
    let stopping = state.stopping.clone();
    let answer = apply_lines(&stopping, lines, key, {
        move |line: FeedLine| {
            let (state, principal) = (state.clone(), principal.clone());
            async move {
                let on_hand = OnHandDto { quantity: line.quantity, feed_seq: line.feed_seq };
                set_on_hand(&state, &principal, &line.sku, &line.location, on_hand).await?;
                Ok(())
            }
        }
    })
    .await;
    Ok(answered(&stopping, &answer))
}

/// A feed's answer: 200 with its lines' outcomes, not stored under an `Idempotency-Key` when
/// the node's stop cut it short.
pub(super) fn answered(stopping: &CancellationToken, answer: &FeedAnswer) -> Response {
    let mut response = reply(StatusCode::OK, answer).into_response();
    if stopping.is_cancelled() {
        response.extensions_mut().insert(crate::idempotency::Unfinished);
    }
    response
}

/// The non-blank lines of an NDJSON feed, numbered from 1 (blank lines counted): refused as
/// a whole when it is not UTF-8, empty, or longer than [`FEED_LINES_MAX`].
pub(super) fn lines_of(body: &[u8]) -> Result<Vec<(usize, &str)>, Problem> {
    let text = std::str::from_utf8(body)
        .map_err(|_| bad_request("malformed_ndjson", "the feed is not UTF-8"))?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return Err(invalid("feed_empty", "a feed has at least one line"));
    }
    if lines.len() > FEED_LINES_MAX {
        return Err(invalid("feed_too_long", format!("a feed has at most {FEED_LINES_MAX} lines")));
    }
    Ok(lines)
}

/// Parses each line as an `L` and applies it with `apply`, every line on its own: a line that
/// does not parse or is refused is answered as refused, and the others go on. Lines of one
/// key (`key_of`) run in file order, one after the other; different keys run concurrently,
/// at most [`FEED_CONCURRENCY_MAX`] at once. Once `stopping` is cancelled (a stopping node
/// ends long changes while it can still record them), each line not begun is refused with
/// 503 `shutting_down`: sent again, it applies (feeds are idempotent).
pub(super) async fn apply_lines<L, K, Fut>(
    stopping: &CancellationToken,
    lines: Vec<(usize, &str)>,
    key_of: impl Fn(&L) -> K,
    apply: impl Fn(L) -> Fut + Clone + Send + 'static,
) -> FeedAnswer
where
    L: DeserializeOwned + Send + 'static,
    K: Hash + Eq,
    Fut: Future<Output = Result<(), Problem>> + Send,
{
    let mut groups: Vec<Vec<(usize, Result<L, Problem>)>> = Vec::new();
    let mut group_of: HashMap<K, usize> = HashMap::new();
    for (number, line) in lines {
        let parsed = crate::json::from_slice::<L>(line.as_bytes());
        let group = match &parsed {
            Ok(line) => *group_of.entry(key_of(line)).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            }),
            Err(_) => {
                groups.push(Vec::new());
                groups.len() - 1
            }
        };
        groups[group].push((number, parsed));
    }
    let gate = Arc::new(tokio::sync::Semaphore::new(FEED_CONCURRENCY_MAX));
    let mut tasks = tokio::task::JoinSet::new();
    for group in groups {
        let (apply, gate, stopping) = (apply.clone(), gate.clone(), stopping.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let mut results = Vec::with_capacity(group.len());
            for (number, parsed) in group {
                let outcome = match parsed {
                    Err(problem) => Err(Problem::of(
                        ProblemKind::Invalid,
                        "invalid_line",
                        "Invalid line",
                        problem.detail,
                    )),
                    Ok(_) if stopping.is_cancelled() => Err(Problem::of(
                        ProblemKind::Unavailable,
                        "shutting_down",
                        "Shutting down",
                        "the node is stopping: send this line again",
                    )),
                    Ok(line) => apply(line).await,
                };
                results.push(line_result(number, outcome));
            }
            results
        });
    }
    feed_answer(tasks.join_all().await.into_iter().flatten().collect())
}

fn line_result(number: usize, outcome: Result<(), Problem>) -> FeedLineResult {
    match outcome {
        Ok(()) => FeedLineResult { line: number, status: 200, code: None, detail: None },
        Err(problem) => FeedLineResult {
            line: number,
            status: problem.status(),
            code: Some(problem.code.into()),
            detail: Some(problem.detail),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[derive(Deserialize)]
    struct Line {
        n: u32,
    }

    async fn run(stopping: &CancellationToken, applied: &Arc<AtomicUsize>) -> FeedAnswer {
        let text: Vec<String> = (0..10).map(|n| format!(r#"{{"n":{n}}}"#)).collect();
        let lines = text.iter().enumerate().map(|(at, line)| (at + 1, line.as_str())).collect();
        let applied = applied.clone();
        apply_lines(
            stopping,
            lines,
            |line: &Line| line.n,
            move |_: Line| {
                let applied = applied.clone();
                async move {
                    applied.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            },
        )
        .await
    }

    #[tokio::test]
    async fn a_stopping_node_refuses_the_lines_not_begun_and_applies_none_of_them() {
        let (stopping, applied) = (CancellationToken::new(), Arc::new(AtomicUsize::new(0)));
        let answer = run(&stopping, &applied).await;
        assert_eq!((answer.accepted, answer.refused, applied.load(Ordering::SeqCst)), (10, 0, 10));
        stopping.cancel();
        let answer = run(&stopping, &applied).await;
        assert_eq!((answer.accepted, answer.refused, applied.load(Ordering::SeqCst)), (0, 10, 10));
        let first = &answer.refused_lines[0];
        assert_eq!((first.status, first.code.as_str()), (503, "shutting_down"));
    }
}
