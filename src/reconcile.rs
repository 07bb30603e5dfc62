//! `bazaar reconcile`: asks a running node to compare every payment provider's settlement
//! report with its ledger (`GET /admin/reconciliation`), prints each mismatch, and fails
//! (exit 1) when there is any, so a scheduler can alert on it.

use anyhow::{Context, bail};
use bazaar_gateway::routes::payments::ReconciliationDto;

#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// The node's HTTP address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An operator's bearer token.
    #[arg(long, env = "BAZAAR_TOKEN", hide_env_values = true)]
    token: String,
}

pub fn run(args: ReconcileArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = runtime.block_on(fetch(&args))?;
    println!("compared {} authorizations at {}", report.compared, report.providers.join(", "));
    for mismatch in &report.mismatches {
        println!(
            "{}\t{}\t{}\tledger captured {} refunded {}\tprovider captured {} refunded {}",
            mismatch.psp,
            mismatch.authorization_key,
            mismatch.kind,
            mismatch.ledger_captured_minor,
            mismatch.ledger_refunded_minor,
            mismatch.psp_captured_minor,
            mismatch.psp_refunded_minor,
        );
    }
    if !report.mismatches.is_empty() {
        bail!("{} mismatches between the ledger and the providers", report.mismatches.len());
    }
    println!("the ledger and the providers agree");
    Ok(())
}

async fn fetch(args: &ReconcileArgs) -> anyhow::Result<ReconciliationDto> {
    let url = format!("{}/admin/reconciliation", args.url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .get(&url)
        .bearer_auth(&args.token)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        bail!("{url} answered {status}: {body}");
    }
    serde_json::from_str(&body).with_context(|| format!("unexpected answer from {url}"))
}
